"""Optical rules for prescriptions: ranges, 0.25 D steps, the axis rule, transposition to minus
cylinder, and the renderings opticians write (``R -2.25/-0.75 x 180 Add +2.00``).

Pure functions over Decimals: the models' clean(), the services and the API all use these, so a
value is judged the same way wherever it comes in.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

QUARTER = Decimal("0.25")
ZERO = Decimal("0")


@dataclass(frozen=True)
class Bound:
    low: Decimal
    high: Decimal
    step: Decimal
    unit: str

    def describe(self, value: Decimal) -> str:
        return f"{_signed(value) if self.unit == 'D' else value}"


SPHERE = Bound(Decimal("-30.00"), Decimal("30.00"), QUARTER, "D")
CYLINDER = Bound(Decimal("-10.00"), Decimal("10.00"), QUARTER, "D")
ADDITION = Bound(Decimal("0.50"), Decimal("4.00"), QUARTER, "D")
INTERMEDIATE_ADDITION = Bound(Decimal("0.25"), Decimal("3.00"), QUARTER, "D")
PRISM = Bound(Decimal("0.00"), Decimal("10.00"), QUARTER, "Δ")
MONOCULAR_PD = Bound(Decimal("20.0"), Decimal("40.0"), Decimal("0.5"), "mm")
BINOCULAR_PD = Bound(Decimal("40.0"), Decimal("80.0"), Decimal("0.5"), "mm")
NEAR_PD = Bound(Decimal("36.0"), Decimal("80.0"), Decimal("0.5"), "mm")
BACK_VERTEX_DISTANCE = Bound(Decimal("0.0"), Decimal("30.0"), Decimal("0.5"), "mm")
CL_POWER = Bound(Decimal("-30.00"), Decimal("30.00"), QUARTER, "D")
CL_CYLINDER = Bound(Decimal("-10.00"), Decimal("10.00"), QUARTER, "D")
CL_BASE_CURVE = Bound(Decimal("7.00"), Decimal("10.00"), Decimal("0.05"), "mm")
CL_DIAMETER = Bound(Decimal("13.00"), Decimal("15.50"), Decimal("0.05"), "mm")

Errors = dict[str, list[str]]


def _signed(value: Decimal) -> str:
    return f"{value:+.2f}"


def _fmt_bound(bound: Bound, value: Decimal) -> str:
    if bound.unit == "D":
        return f"{_signed(value)} D"
    return f"{value} {bound.unit}"


def check_value(errors: Errors, field: str, label: str, value: Any, bound: Bound) -> None:
    """Add an error for ``field`` when ``value`` is out of range or off the step grid."""
    if value is None:
        return
    value = Decimal(value)
    if not bound.low <= value <= bound.high:
        errors.setdefault(field, []).append(
            f"{label} must be between {_fmt_bound(bound, bound.low)} and {_fmt_bound(bound, bound.high)}"
            f" (got {_fmt_bound(bound, value)})."
        )
    elif value % bound.step != 0:
        errors.setdefault(field, []).append(
            f"{label} must be in {bound.step} {bound.unit} steps (got {_fmt_bound(bound, value)})."
        )


def check_axis(errors: Errors, field: str, cylinder: Any, axis: Any, cylinder_field: str) -> None:
    """Axis is required exactly when the cylinder is not zero, in whole degrees 1..180."""
    has_cylinder = cylinder is not None and Decimal(cylinder) != 0
    if axis is None or axis == "":
        if has_cylinder:
            errors.setdefault(field, []).append(
                f"Axis is required when there is a cylinder ({cylinder_field} = {_signed(Decimal(cylinder))})."
            )
        return
    if not has_cylinder:
        errors.setdefault(field, []).append("Axis must be empty when the cylinder is zero.")
        return
    if isinstance(axis, bool) or not isinstance(axis, int | Decimal | float) or int(axis) != axis:
        errors.setdefault(field, []).append("Axis must be a whole number of degrees from 1 to 180.")
    elif not 1 <= int(axis) <= 180:
        errors.setdefault(field, []).append(f"Axis must be a whole number of degrees from 1 to 180 (got {axis}).")


def check_expiry(errors: Errors, issue_date: Any, expiry_date: Any) -> None:
    if issue_date and expiry_date and expiry_date <= issue_date:
        errors.setdefault("expiry_date", []).append("Expiry date must be after the issue date.")


def transpose(sphere: Decimal, cylinder: Decimal, axis: int | None) -> tuple[Decimal, Decimal, int | None]:
    """The same lens written in the other cylinder convention: sphere + cyl, -cyl, axis ± 90."""
    if cylinder == 0 or axis is None:
        return sphere, cylinder, axis
    new_axis = axis + 90 if axis <= 90 else axis - 90
    return sphere + cylinder, -cylinder, new_axis


def to_minus_cylinder(
    sphere: Decimal | None, cylinder: Decimal | None, axis: int | None
) -> tuple[Decimal | None, Decimal | None, int | None]:
    """OptiQ stores minus cylinder; a plus-cylinder value is transposed on the way in."""
    if sphere is None or cylinder is None or cylinder <= 0:
        return sphere, cylinder, axis
    return transpose(Decimal(sphere), Decimal(cylinder), axis)


def format_power(value: Decimal | None) -> str:
    if value is None:
        return ""
    return "Plano" if Decimal(value) == 0 else _signed(Decimal(value))


def format_sphero_cylinder(sphere: Decimal, cylinder: Decimal | None, axis: int | None) -> str:
    """``-2.25/-0.75 x 180``, ``+1.50 DS``, ``Plano/-0.50 x 90`` or ``Plano``."""
    if cylinder is None or Decimal(cylinder) == 0:
        return "Plano" if Decimal(sphere) == 0 else f"{_signed(Decimal(sphere))} DS"
    return f"{format_power(sphere)}/{_signed(Decimal(cylinder))} x {axis}"


def format_prism(prism: Decimal | None, base: str) -> str:
    if not prism:
        return ""
    return f"{Decimal(prism):.2f}Δ base {base}"


def format_mm(value: Decimal | None) -> str:
    """``63`` rather than ``63.0``; ``31.5`` stays."""
    if value is None:
        return ""
    value = Decimal(value)
    return str(value.quantize(Decimal("1"))) if value == value.to_integral_value() else str(value.normalize())
