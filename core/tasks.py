"""Thin Celery tasks for the outbox: ids in, one service call, safe to run twice."""

from celery import shared_task

from .outbox import outbox_deliver, outbox_sweep


@shared_task(name="core.outbox.deliver", ignore_result=True)
def outbox_deliver_task(message_id: int) -> str:
    return outbox_deliver(message_id=message_id)


@shared_task(name="core.outbox.sweep", ignore_result=True)
def outbox_sweep_task() -> dict:
    return outbox_sweep()
