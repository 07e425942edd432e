"""Thin Celery tasks for the beat sweeps of ordering: one service call each, safe to run twice."""

from celery import shared_task

from .services.bad_cart import bad_cart_sweep
from .services.monitoring import cart_unpriced_sweep


@shared_task(name="ordering.bad_cart_sweep", ignore_result=True)
def bad_cart_sweep_task() -> dict:
    return bad_cart_sweep()


@shared_task(name="ordering.cart_unpriced_sweep", ignore_result=True)
def cart_unpriced_sweep_task() -> dict:
    return cart_unpriced_sweep()
