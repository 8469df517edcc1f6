from __future__ import annotations

from datetime import date

from django.db import models
from django.db.models.functions import Lower

__all__ = ["Patient"]


class Patient(models.Model):
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField()
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=30, blank=True, help_text="As written; searches ignore spaces.")
    phone_digits = models.CharField(max_length=30, blank=True, editable=False, db_index=True)
    address = models.TextField(blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    notes = models.TextField(blank=True)
    consent_marketing = models.BooleanField("consents to marketing", default=False)
    consent_data_sharing = models.BooleanField("consents to data sharing", default=False)
    # Marks rows made by `seed_demo` so reruns find them (blank for real patients).
    demo_key = models.CharField(max_length=40, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(Lower("last_name"), Lower("first_name"), name="patient_name_lower"),
            models.Index(fields=["date_of_birth"], name="patient_dob"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name} ({self.date_of_birth:%d/%m/%Y})"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        # A derived search key, not business logic: kept with the value it is derived from.
        self.phone_digits = "".join(ch for ch in self.phone if ch.isdigit())
        if kwargs.get("update_fields") is not None and "phone" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "phone_digits"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from django.core.exceptions import ValidationError
        from django.utils import timezone

        if self.date_of_birth and not date(1900, 1, 1) <= self.date_of_birth <= timezone.localdate():
            raise ValidationError({"date_of_birth": ["Date of birth must be between 1900 and today."]})
        if self.phone and not 6 <= len("".join(ch for ch in self.phone if ch.isdigit())) <= 15:
            raise ValidationError({"phone": ["A phone number has 6 to 15 digits."]})

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def age_on(self, day: date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
