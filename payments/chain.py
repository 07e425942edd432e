"""Chain a trip's next call in the worker that recorded the previous answer.

While one of our outbox handlers records an outcome (``on_success``), the next call it queues
is delivered by the same worker right after the commit instead of waiting its turn in the
broker queue: start → adjust → capture → payment status report → receipt data in one task.
The outbox row is committed with the state change exactly as before, but already claimed (in
flight, with its lease: ``core.outbox.outbox_chaining``), so neither a broker message nor a
claim transaction is spent on it; if this process dies before delivering it, the sweep re-opens
it when its lease expires and delivers it. ``PAYMENTS_CHAIN_CALLS=false`` turns this off (every
call then goes through the broker, one task each).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from core.outbox import outbox_chaining


@contextmanager
def chaining() -> Iterator[None]:
    """Deliver the calls queued inside this block (an ``on_success``) in this worker."""
    with outbox_chaining(bool(settings.PAYMENTS_CHAIN_CALLS)):
        yield
