"""The practice's admin: one module per area (registration happens on import)."""

from . import audit, inventory, lab, patients, recalls, reports, sales  # noqa: F401
