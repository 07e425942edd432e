from django.apps import AppConfig


class DebtConfig(AppConfig):
    name = "debt"
    verbose_name = "Bad debt"

    def ready(self):
        from core.outbox import outbox_handler_register

        from .services.notices import NOTICE_HANDLER

        outbox_handler_register(NOTICE_HANDLER)
