"""Thin periodic tasks of the gate (scheduled in jwo_store/beat.py, on the batch queue)."""

from celery import shared_task

from .services.figures import gate_figures_refresh, gate_shift_check


@shared_task(name="gate.figures_refresh")
def figures_refresh() -> int:
    return gate_figures_refresh()


@shared_task(name="gate.shift_check")
def shift_check() -> int:
    return len(gate_shift_check())
