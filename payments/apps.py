from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        from .handlers import register_handlers

        register_handlers()

    def warm_worker_process(self) -> None:
        """Called in each Celery worker process after the fork (``jwo_store.celery``)."""
        from .amazon import warm_process

        warm_process()
