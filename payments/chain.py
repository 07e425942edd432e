"""Chain a trip's next call in the worker that recorded the previous answer.

While one of our outbox handlers records an outcome (``on_success``), the next call it queues
is delivered by the same worker right after the commit instead of waiting its turn in the
broker queue: start → adjust → capture → receipt data in one task. The outbox row is written
and committed exactly as before, only scheduled ``CHAIN_GRACE`` ahead so that no broker message
is sent for it; if this process dies before delivering it, the beat sweep delivers it once it
falls due. ``PAYMENTS_CHAIN_CALLS=false`` turns this off (every call then goes through the
broker, one task each).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from core.clock import now as business_now
from core.models import OutboxMessage, OutboxStatus
from core.outbox import outbox_deliver

logger = logging.getLogger(__name__)

CHAIN_GRACE = timedelta(seconds=30)
_chaining: ContextVar[bool] = ContextVar("payments_chaining", default=False)


@contextmanager
def chaining() -> Iterator[None]:
    """Mark the calls queued inside this block (an ``on_success``) for inline delivery."""
    token = _chaining.set(bool(settings.PAYMENTS_CHAIN_CALLS))
    try:
        yield
    finally:
        _chaining.reset(token)


def chained_available_at(available_at: datetime | None) -> datetime | None:
    """When to schedule a call: a chained call is held back from the broker for a while."""
    if available_at is not None or not _chaining.get():
        return available_at
    return business_now() + CHAIN_GRACE


def deliver_after_commit(message: OutboxMessage, available_at: datetime | None) -> None:
    """Deliver a chained call in this process once the transaction that queued it commits."""
    if available_at is not None or not _chaining.get():
        return
    transaction.on_commit(lambda: _deliver(message.pk), robust=True)


def _deliver(message_id: int) -> None:
    made_due = OutboxMessage.objects.filter(pk=message_id, status=OutboxStatus.PENDING).update(
        next_attempt_at=business_now()
    )
    if made_due:
        outbox_deliver(message_id=message_id)
