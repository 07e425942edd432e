from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Operations"

    def ready(self):
        from .api import schema  # noqa: F401 - registers the OpenAPI auth extension
        from .roles import roles_sync_after_migrate
        from .selfcheck import register_ping_handler

        register_ping_handler()

        # Not domain flow: keeps the staff groups' permissions in step with the schema.
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="core.roles_sync")
