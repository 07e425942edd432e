"""Thin Celery tasks: ids in, one service call, safe to run twice."""

from celery import shared_task

from .services.events import event_process, events_sweep, informational_events_drain
from .services.operations import charges_janitor, charges_watch_deadlines


@shared_task(name="payments.process_event", ignore_result=True)
def process_event_task(event_pk: int) -> str:
    return event_process(event_pk=event_pk)


@shared_task(name="payments.drain_informational_events", ignore_result=True)
def drain_informational_events_task() -> dict:
    return informational_events_drain()


@shared_task(name="payments.events_sweep", ignore_result=True)
def events_sweep_task() -> int:
    return events_sweep()


@shared_task(name="payments.janitor", ignore_result=True)
def janitor_task() -> dict:
    return {"deadlines": charges_watch_deadlines(), "janitor": charges_janitor()}
