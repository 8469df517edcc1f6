"""Staff roles: the groups a data migration creates and the permissions each one needs.

- reception: books patients in, takes sales and payments, hands over finished glasses; sees
  prescriptions but cannot write or change them; no cost prices, no reports.
- clinician (optometrist or dispensing optician): everything reception does, plus prescriptions
  and lab jobs.
- manager: all practice data, cost prices, reports and the audit trail; refunds, voids, prices
  other than the list price and discounts above OPTIQ_DISCOUNT_LIMIT_PERCENT; reviews training data.
- ml_admin: the assistant's models and training (only they start training jobs).

sync_role_permissions runs after every migrate (post_migrate). It only adds: a permission a
practice has granted by hand stays, and permissions of apps not installed yet are skipped.
Superusers see everything regardless of group.
"""

from __future__ import annotations

from typing import Any

RECEPTION = "reception"
CLINICIAN = "clinician"
MANAGER = "manager"
ML_ADMIN = "ml_admin"

VIEW_COST_PRICE = "practice.view_cost_price"
VIEW_REPORTS = "practice.view_reports"
VIEW_AUDIT_EVENT = "practice.view_audit_event"
RECEIVE_STOCK = "practice.receive_stock"
REFUND_SALE = "practice.refund_sale"
VOID_SALE = "practice.void_sale"
OVERRIDE_SALE_PRICE = "practice.override_sale_price"
GIVE_LARGE_DISCOUNT = "practice.give_large_discount"
# Granted to managers by migration 0004 as well as here (see sync_role_permissions).
SALE_MANAGER_PERMISSIONS = [REFUND_SALE, VOID_SALE, OVERRIDE_SALE_PRICE, GIVE_LARGE_DISCOUNT]


def _crud(model: str, *verbs: str) -> list[str]:
    return [f"practice.{verb}_{model}" for verb in verbs]


_FRONT_DESK = [
    *_crud("patient", "view", "add", "change"),
    *_crud("spectacleprescription", "view"),
    *_crud("contactlensprescription", "view"),
    *_crud("product", "view"),
    *_crud("stockmovement", "view"),
    *_crud("sale", "view", "add", "change"),
    *_crud("saleline", "view", "add", "change", "delete"),
    *_crud("payment", "view", "add"),
    *_crud("labjob", "view", "change"),
    *_crud("recall", "view", "add", "change"),
    "assistant.view_assistantthread",
    "assistant.add_assistantthread",
    "assistant.view_knowledgedocument",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    RECEPTION: _FRONT_DESK,
    CLINICIAN: [
        *_FRONT_DESK,
        *_crud("spectacleprescription", "add", "change"),
        *_crud("contactlensprescription", "add", "change"),
        *_crud("labjob", "add"),
        *_crud("recall", "delete"),
        RECEIVE_STOCK,
    ],
    MANAGER: [
        *_FRONT_DESK,
        *[
            f"practice.{verb}_{model}"
            for model in (
                "patient",
                "spectacleprescription",
                "contactlensprescription",
                "product",
                "sale",
                "saleline",
                "payment",
                "labjob",
                "recall",
            )
            for verb in ("view", "add", "change", "delete")
        ],
        "practice.view_salesdaysummary",
        VIEW_COST_PRICE,
        VIEW_REPORTS,
        VIEW_AUDIT_EVENT,
        RECEIVE_STOCK,
        *SALE_MANAGER_PERMISSIONS,
        "assistant.view_modelversion",
        "assistant.change_knowledgedocument",
        "assistant.add_knowledgedocument",
        "assistant.view_assistantmessage",
        "assistant.view_assistantfeedback",
        "training_jobs.view_trainingjob",
        "training_jobs.view_trainingexample",
        "training_jobs.add_trainingexample",
        "training_jobs.change_trainingexample",
        "training_jobs.approve_trainingexample",
    ],
    ML_ADMIN: [
        "assistant.view_assistantthread",
        "assistant.add_assistantthread",
        "assistant.view_assistantmessage",
        "assistant.view_assistantfeedback",
        "assistant.view_modelversion",
        "assistant.add_modelversion",
        "assistant.change_modelversion",
        "assistant.view_modelactivation",
        "assistant.manage_model_versions",
        "assistant.view_knowledgedocument",
        "assistant.add_knowledgedocument",
        "assistant.change_knowledgedocument",
        "assistant.delete_knowledgedocument",
        "training_jobs.run_training_job",
        "training_jobs.view_trainingjob",
        "training_jobs.add_trainingjob",
        "training_jobs.change_trainingjob",
        "training_jobs.view_trainingexample",
        "training_jobs.add_trainingexample",
        "training_jobs.change_trainingexample",
        "training_jobs.approve_trainingexample",
        "training_jobs.delete_trainingexample",
    ],
}


def sync_role_permissions(**kwargs: Any) -> None:
    """Grant each role's permissions (creating a missing group); idempotent, add-only."""
    from django.contrib.auth.models import Group, Permission

    wanted = {perm for perms in ROLE_PERMISSIONS.values() for perm in perms}
    by_name: dict[str, int] = {}
    for pk, app_label, codename in Permission.objects.filter(
        codename__in={perm.split(".", 1)[1] for perm in wanted}
    ).values_list("pk", "content_type__app_label", "codename"):
        by_name[f"{app_label}.{codename}"] = pk
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        ids = [by_name[perm] for perm in perms if perm in by_name]
        if ids:
            group.permissions.add(*ids)
