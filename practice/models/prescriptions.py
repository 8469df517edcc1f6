from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from practice import optics

from .choices import ContactLensReplacement, PrismBase
from .patients import Patient

__all__ = ["ContactLensPrescription", "SpectaclePrescription"]

EYES = (("right", "R", "Right"), ("left", "L", "Left"))


def _power(verbose: str, **kwargs: Any) -> models.DecimalField:
    return models.DecimalField(verbose, max_digits=5, decimal_places=2, **kwargs)


def _mm(verbose: str, **kwargs: Any) -> models.DecimalField:
    return models.DecimalField(verbose, max_digits=4, decimal_places=1, null=True, blank=True, **kwargs)


class _StoredInMinusCylinder:
    """What both kinds of prescription share: stored in minus cylinder, and judged both as
    written and as stored."""

    sphere_field: ClassVar[str]  # the spherical power: "sphere" on spectacles, "power" on contact lenses

    def rule_errors(self) -> optics.Errors:
        raise NotImplementedError

    def normalise(self) -> None:
        """Transpose plus-cylinder values to minus cylinder (in place)."""
        names = (self.sphere_field, "cylinder", "axis")
        for eye, _, _ in EYES:
            values = optics.to_minus_cylinder(*(getattr(self, f"{eye}_{name}") for name in names))
            for name, value in zip(names, values, strict=True):
                setattr(self, f"{eye}_{name}", value)

    def clean(self) -> None:
        # Judge the values as written first (axis 181 must not be hidden by transposing it to 91),
        # then again in stored minus-cylinder form (the transposed sphere must still be in range).
        for step in ("as_written", "transposed"):
            if step == "transposed":
                self.normalise()
            errors = self.rule_errors()
            if errors:
                raise ValidationError(errors)


class SpectaclePrescription(_StoredInMinusCylinder, models.Model):
    """A spectacle prescription for both eyes, stored in minus-cylinder form.

    Powers are in dioptres (D) in 0.25 D steps; a plus-cylinder value is transposed when it is
    cleaned (sphere + cylinder, cylinder sign flipped, axis ± 90).
    """

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="spectacle_prescriptions")
    issue_date = models.DateField()
    expiry_date = models.DateField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    prescriber_name = models.CharField(max_length=120, blank=True, help_text="Optometrist's name as on the form.")

    right_sphere = _power("R sphere")
    right_cylinder = _power("R cylinder", default=Decimal("0.00"))
    right_axis = models.PositiveSmallIntegerField("R axis", null=True, blank=True)
    right_add = _power("R near add", null=True, blank=True)
    right_intermediate_add = _power("R intermediate add", null=True, blank=True)
    right_prism = models.DecimalField("R prism (Δ)", max_digits=4, decimal_places=2, null=True, blank=True)
    right_prism_base = models.CharField("R prism base", max_length=5, choices=PrismBase.choices, blank=True)
    right_pd = _mm("R monocular PD (mm)")

    left_sphere = _power("L sphere")
    left_cylinder = _power("L cylinder", default=Decimal("0.00"))
    left_axis = models.PositiveSmallIntegerField("L axis", null=True, blank=True)
    left_add = _power("L near add", null=True, blank=True)
    left_intermediate_add = _power("L intermediate add", null=True, blank=True)
    left_prism = models.DecimalField("L prism (Δ)", max_digits=4, decimal_places=2, null=True, blank=True)
    left_prism_base = models.CharField("L prism base", max_length=5, choices=PrismBase.choices, blank=True)
    left_pd = _mm("L monocular PD (mm)")

    binocular_pd = _mm("binocular PD (mm)")
    near_pd = _mm("near PD (mm)")
    back_vertex_distance = _mm("back vertex distance (mm)")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-issue_date", "-id"]
        indexes = [models.Index(fields=["patient", "-issue_date"], name="spectaclerx_patient_date")]

    def __str__(self) -> str:
        return f"{self.patient.full_name if self.patient_id else '?'} {self.issue_date:%d/%m/%Y}: {self.render()}"

    # --- rules -------------------------------------------------------------------------------
    sphere_field = "sphere"

    def rule_errors(self) -> optics.Errors:
        errors: optics.Errors = {}
        for eye, _, label in EYES:
            sphere = getattr(self, f"{eye}_sphere")
            cylinder = getattr(self, f"{eye}_cylinder")
            if sphere is None:
                errors.setdefault(f"{eye}_sphere", []).append(f"{label} sphere is required (0.00 for plano).")
            optics.check_value(errors, f"{eye}_sphere", f"{label} sphere", sphere, optics.SPHERE)
            optics.check_value(errors, f"{eye}_cylinder", f"{label} cylinder", cylinder, optics.CYLINDER)
            optics.check_axis(errors, f"{eye}_axis", cylinder, getattr(self, f"{eye}_axis"), f"{eye}_cylinder")
            add = getattr(self, f"{eye}_add")
            optics.check_value(errors, f"{eye}_add", f"{label} near addition", add, optics.ADDITION)
            inter = getattr(self, f"{eye}_intermediate_add")
            optics.check_value(
                errors, f"{eye}_intermediate_add", f"{label} intermediate addition", inter, optics.INTERMEDIATE_ADDITION
            )
            if inter is not None and (add is None or inter >= add):
                errors.setdefault(f"{eye}_intermediate_add", []).append(
                    f"{label} intermediate addition needs a near addition greater than it."
                )
            prism, base = getattr(self, f"{eye}_prism"), getattr(self, f"{eye}_prism_base")
            optics.check_value(errors, f"{eye}_prism", f"{label} prism", prism, optics.PRISM)
            if prism and not base:
                errors.setdefault(f"{eye}_prism_base", []).append(
                    f"{label} prism base (up, down, in or out) is required with a prism."
                )
            if base and not prism:
                errors.setdefault(f"{eye}_prism_base", []).append(f"{label} prism base needs a prism amount.")
            optics.check_value(
                errors, f"{eye}_pd", f"{label} monocular PD", getattr(self, f"{eye}_pd"), optics.MONOCULAR_PD
            )
        if (self.right_pd is None) != (self.left_pd is None):
            field = "left_pd" if self.left_pd is None else "right_pd"
            errors.setdefault(field, []).append("Monocular PDs are given for both eyes or neither.")
        optics.check_value(errors, "binocular_pd", "Binocular PD", self.binocular_pd, optics.BINOCULAR_PD)
        optics.check_value(errors, "near_pd", "Near PD", self.near_pd, optics.NEAR_PD)
        optics.check_value(
            errors,
            "back_vertex_distance",
            "Back vertex distance",
            self.back_vertex_distance,
            optics.BACK_VERTEX_DISTANCE,
        )
        optics.check_expiry(errors, self.issue_date, self.expiry_date)
        return errors

    # --- rendering ---------------------------------------------------------------------------
    def render_eye(self, eye: str) -> str:
        letter = "R" if eye == "right" else "L"
        parts = [
            letter,
            optics.format_sphero_cylinder(
                getattr(self, f"{eye}_sphere"), getattr(self, f"{eye}_cylinder"), getattr(self, f"{eye}_axis")
            ),
        ]
        if getattr(self, f"{eye}_intermediate_add") is not None:
            parts.append(f"Int {optics.format_power(getattr(self, f'{eye}_intermediate_add'))}")
        if getattr(self, f"{eye}_add") is not None:
            parts.append(f"Add {optics.format_power(getattr(self, f'{eye}_add'))}")
        prism = optics.format_prism(getattr(self, f"{eye}_prism"), getattr(self, f"{eye}_prism_base"))
        if prism:
            parts.append(prism)
        return " ".join(parts)

    def render(self) -> str:
        """As opticians write it: ``R -2.25/-0.75 x 180 Add +2.00; L -2.00/-0.50 x 170 Add +2.00``."""
        if self.right_sphere is None or self.left_sphere is None:
            return ""
        text = f"{self.render_eye('right')}; {self.render_eye('left')}"
        mm = optics.format_mm
        pd = (
            f"PD {mm(self.right_pd)}/{mm(self.left_pd)}"
            if self.right_pd is not None and self.left_pd is not None
            else (f"PD {mm(self.binocular_pd)}" if self.binocular_pd is not None else "")
        )
        if pd:
            text += f"; {pd}" + (f" (near {mm(self.near_pd)})" if self.near_pd is not None else "")
        return text

    render.short_description = "prescription"  # type: ignore[attr-defined]

    def is_expired(self, on: date) -> bool:
        return self.expiry_date < on


class ContactLensPrescription(_StoredInMinusCylinder, models.Model):
    """A contact lens specification for both eyes (minus cylinder for torics)."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="contact_lens_prescriptions")
    issue_date = models.DateField()
    expiry_date = models.DateField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    brand = models.CharField(max_length=100)
    material = models.CharField(max_length=100, blank=True, help_text="e.g. senofilcon A (silicone hydrogel)")
    replacement = models.CharField(max_length=12, choices=ContactLensReplacement.choices)

    right_base_curve = models.DecimalField("R base curve (mm)", max_digits=4, decimal_places=2)
    right_diameter = models.DecimalField("R diameter (mm)", max_digits=4, decimal_places=2)
    right_power = _power("R power")
    right_cylinder = _power("R cylinder", default=Decimal("0.00"))
    right_axis = models.PositiveSmallIntegerField("R axis", null=True, blank=True)
    right_add = _power("R addition", null=True, blank=True)

    left_base_curve = models.DecimalField("L base curve (mm)", max_digits=4, decimal_places=2)
    left_diameter = models.DecimalField("L diameter (mm)", max_digits=4, decimal_places=2)
    left_power = _power("L power")
    left_cylinder = _power("L cylinder", default=Decimal("0.00"))
    left_axis = models.PositiveSmallIntegerField("L axis", null=True, blank=True)
    left_add = _power("L addition", null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "contact lens prescription"
        ordering = ["-issue_date", "-id"]
        indexes = [models.Index(fields=["patient", "-issue_date"], name="clrx_patient_date")]

    def __str__(self) -> str:
        return f"{self.patient.full_name if self.patient_id else '?'} {self.issue_date:%d/%m/%Y}: {self.render()}"

    sphere_field = "power"

    def rule_errors(self) -> optics.Errors:
        errors: optics.Errors = {}
        for eye, _, label in EYES:
            for name, bound, what in (
                ("base_curve", optics.CL_BASE_CURVE, "base curve"),
                ("diameter", optics.CL_DIAMETER, "diameter"),
                ("power", optics.CL_POWER, "power"),
            ):
                value = getattr(self, f"{eye}_{name}")
                if value is None:
                    errors.setdefault(f"{eye}_{name}", []).append(f"{label} {what} is required.")
                optics.check_value(errors, f"{eye}_{name}", f"{label} {what}", value, bound)
            cylinder = getattr(self, f"{eye}_cylinder")
            optics.check_value(errors, f"{eye}_cylinder", f"{label} cylinder", cylinder, optics.CL_CYLINDER)
            optics.check_axis(errors, f"{eye}_axis", cylinder, getattr(self, f"{eye}_axis"), f"{eye}_cylinder")
            optics.check_value(errors, f"{eye}_add", f"{label} addition", getattr(self, f"{eye}_add"), optics.ADDITION)
        optics.check_expiry(errors, self.issue_date, self.expiry_date)
        return errors

    def render_eye(self, eye: str) -> str:
        letter = "R" if eye == "right" else "L"
        power = optics.format_sphero_cylinder(
            getattr(self, f"{eye}_power"), getattr(self, f"{eye}_cylinder"), getattr(self, f"{eye}_axis")
        )
        text = f"{letter} {getattr(self, f'{eye}_base_curve')}/{getattr(self, f'{eye}_diameter')} {power}"
        if getattr(self, f"{eye}_add") is not None:
            text += f" Add {optics.format_power(getattr(self, f'{eye}_add'))}"
        return text

    def render(self) -> str:
        """``R 8.60/14.20 -2.25 DS; L 8.60/14.20 -2.00/-0.75 x 180 (Acuvue Oasys, two-weekly)``."""
        if self.right_power is None or self.left_power is None:
            return ""
        return (
            f"{self.render_eye('right')}; {self.render_eye('left')} "
            f"({self.brand}, {self.get_replacement_display().lower()})"
        )

    render.short_description = "prescription"  # type: ignore[attr-defined]
