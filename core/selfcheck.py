"""An end-to-end check of the delivery path: a ``core.ping`` outbox message that a worker delivers.

Operators run ``manage.py outbox_ping`` after a deploy to prove that web → PostgreSQL → broker →
worker → PostgreSQL works; the tests use it to prove the Celery wiring with a real worker.
"""

import os
import socket

from django.db import transaction

from . import clock
from .models import OutboxMessage
from .outbox import OutboxHandler, outbox_enqueue, outbox_handler_register

PING = "core.ping"


def _send(message: OutboxMessage) -> dict:
    return {"worker": f"{socket.gethostname()}:{os.getpid()}", "at": clock.now().isoformat()}


def register_ping_handler() -> None:
    outbox_handler_register(OutboxHandler(kind=PING, send=_send, queue="outbox"))


def outbox_ping_enqueue() -> OutboxMessage:
    with transaction.atomic():
        return outbox_enqueue(
            kind=PING, key=f"ping:{clock.wall_now().isoformat()}:{os.getpid()}", payload={}
        )
