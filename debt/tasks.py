"""Thin Celery tasks: each wakes one sweep; what is due is decided against the business clock."""

from celery import shared_task

from .services.entry_watch import entry_breaches_detect
from .services.notices import reminders_due
from .services.reconciliation import reconciliation_run
from .services.standing import standing_sweep


@shared_task(name="debt.standing_sweep", ignore_result=True)
def standing_sweep_task() -> dict:
    return standing_sweep()


@shared_task(name="debt.reminders_due", ignore_result=True)
def reminders_due_task() -> dict:
    return reminders_due()


@shared_task(name="debt.entry_breaches_detect", ignore_result=True)
def entry_breaches_detect_task() -> dict:
    return entry_breaches_detect()


@shared_task(name="debt.reconcile", ignore_result=True)
def reconcile_task() -> int:
    from .ports import balance_book

    return reconciliation_run(actor="system:debt-reconcile", book=balance_book()).pk
