"""Refunds, voids, price overrides and discounts above the limit become manager permissions.

The permissions are created here rather than waiting for post_migrate, so that a practice's
existing manager group holds them as soon as this migration has run (reception, which could
refund and void before, no longer can)."""

from django.db import migrations

PERMISSIONS = {
    "refund_sale": "Can refund a completed sale",
    "void_sale": "Can void a draft sale",
    "override_sale_price": "Can sell at a price other than the product's",
    "give_large_discount": "Can give a discount above the practice's discount limit",
}


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    sale_type, _ = ContentType.objects.get_or_create(app_label="practice", model="sale")
    permissions = [
        Permission.objects.get_or_create(content_type=sale_type, codename=codename, defaults={"name": name})[0]
        for codename, name in PERMISSIONS.items()
    ]
    manager, _ = Group.objects.get_or_create(name="manager")
    manager.permissions.add(*permissions)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    found = Permission.objects.filter(content_type__app_label="practice", codename__in=PERMISSIONS)
    for group in Group.objects.filter(name="manager"):
        group.permissions.remove(*found)


class Migration(migrations.Migration):
    dependencies = [
        ("practice", "0003_audit_patient_ids_and_sale_permissions"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
