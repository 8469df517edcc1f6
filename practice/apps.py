from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PracticeConfig(AppConfig):
    name = "practice"
    verbose_name = "Practice"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from practice.roles import sync_role_permissions

        # Every app's post_migrate (not only ours): permissions of apps migrated after this one
        # exist only once their own signal has run.
        post_migrate.connect(sync_role_permissions, dispatch_uid="practice.sync_role_permissions")
