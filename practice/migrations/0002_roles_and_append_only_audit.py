"""The staff roles (groups) and the database-level guard that keeps audit events append-only.

The groups' permissions are granted by practice.roles.sync_role_permissions after every migrate
(permissions only exist once all apps have migrated)."""

from django.db import migrations

GROUPS = ["reception", "clinician", "manager", "ml_admin"]

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION practice_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER practice_auditevent_append_only
    BEFORE UPDATE OR DELETE ON practice_auditevent
    FOR EACH ROW EXECUTE FUNCTION practice_audit_append_only();
"""
DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS practice_auditevent_append_only ON practice_auditevent;
DROP FUNCTION IF EXISTS practice_audit_append_only();
"""


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in GROUPS:
        Group.objects.get_or_create(name=name)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("practice", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(create_groups, remove_groups),
        migrations.RunSQL(APPEND_ONLY, DROP_APPEND_ONLY),
    ]
