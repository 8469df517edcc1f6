"""Every write to the practice's data: keyword-only, atomic, validated (a django ValidationError
naming the field and the rule, with nothing written)."""

from .audit import audit_event_record, audit_export_record, request_ip
from .catalogue import product_create, product_update
from .lab import lab_job_advance, lab_job_transition
from .patients import (
    contact_lens_prescription_create,
    contact_lens_prescription_update,
    patient_create,
    patient_update,
    spectacle_prescription_create,
    spectacle_prescription_update,
)
from .recalls import recall_schedule, recall_set_status, recall_update
from .sales import (
    sale_complete,
    sale_create,
    sale_line_add,
    sale_line_remove,
    sale_payment_add,
    sale_refund,
    sale_update,
    sale_void,
)
from .stock import stock_adjust, stock_receive, stock_recompute, stock_write_off
from .summary import sales_summary_rebuild

__all__ = [
    "audit_event_record",
    "audit_export_record",
    "contact_lens_prescription_create",
    "contact_lens_prescription_update",
    "lab_job_advance",
    "lab_job_transition",
    "patient_create",
    "patient_update",
    "product_create",
    "product_update",
    "recall_schedule",
    "recall_set_status",
    "recall_update",
    "request_ip",
    "sale_complete",
    "sale_create",
    "sale_line_add",
    "sale_line_remove",
    "sale_payment_add",
    "sale_refund",
    "sale_update",
    "sale_void",
    "sales_summary_rebuild",
    "spectacle_prescription_create",
    "spectacle_prescription_update",
    "stock_adjust",
    "stock_receive",
    "stock_recompute",
    "stock_write_off",
]
