"""A process that races the workers on the same trips (multi-process tests).

    python -m payments.tests.racer --mode deliver|void|meddle --seconds 10 --start-at <epoch>

``deliver`` delivers every due outbox message in this process (a duplicate worker); ``void``
tries to release every pre-capture charge (an operator racing the capture); ``meddle`` plays
the janitor and the admin's retry: it re-drives working charges, re-delivers in-flight
messages and processes events, all while the real workers run.
"""

from __future__ import annotations

import argparse
import random
import time


def main() -> int:
    import django

    django.setup()
    from django.db import transaction

    from core.models import OutboxMessage, OutboxStatus
    from core.outbox import outbox_deliver, outbox_deliver_due
    from payments.enums import WORKING_STATES, EventStatus
    from payments.locks import trip_and_charge_for_update
    from payments.models import AmazonEvent, Charge
    from payments.services.events import event_process
    from payments.services.operations import charge_redrive, charge_void

    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--start-at", type=float, default=0)
    args = parser.parse_args()
    while time.time() < args.start_at:
        time.sleep(0.005)
    until = time.monotonic() + args.seconds
    counts: dict[str, int] = {}
    while time.monotonic() < until:
        if args.mode == "deliver":
            for outcome, count in outbox_deliver_due().items():
                counts[outcome] = counts.get(outcome, 0) + count
        elif args.mode == "void":
            for trip_pk in Charge.objects.values_list("trip_id", flat=True):
                outcome = charge_void(trip_pk=trip_pk, actor="racer:void")
                counts[outcome] = counts.get(outcome, 0) + 1
        else:
            live = OutboxMessage.objects.filter(
                status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT]
            ).values_list("pk", flat=True)
            for message_id in live:
                outbox_deliver(message_id=message_id)
            working = list(
                Charge.objects.filter(state__in=WORKING_STATES).values_list("trip_id", flat=True)
            )
            for trip_pk in random.sample(working, min(3, len(working))):
                with transaction.atomic():
                    trip, charge = trip_and_charge_for_update(trip_pk=trip_pk)
                    outcome = charge_redrive(trip, charge, actor="racer:admin", reason="race")
                counts[outcome] = counts.get(outcome, 0) + 1
            events = AmazonEvent.objects.filter(status=EventStatus.RECEIVED)
            for event_pk in events.values_list("pk", flat=True):
                event_process(event_pk=event_pk)
        time.sleep(0.05)
    print(counts, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
