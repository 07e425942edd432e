import time

from django.core.management.base import BaseCommand, CommandError

from core.models import OutboxMessage, OutboxStatus
from core.selfcheck import outbox_ping_enqueue


class Command(BaseCommand):
    help = "Send a ping through the outbox and wait until a worker has delivered it."

    def add_arguments(self, parser):
        parser.add_argument("--timeout", type=float, default=30.0)

    def handle(self, *args, timeout, **options):
        message = outbox_ping_enqueue()
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            current = OutboxMessage.objects.get(pk=message.pk)
            if current.status == OutboxStatus.SUCCEEDED:
                elapsed = time.monotonic() - started
                worker = current.result.get("worker", "?")
                self.stdout.write(f"delivered by {worker} in {elapsed:.2f} s")
                return
            time.sleep(0.1)
        raise CommandError(f"no worker delivered the ping within {timeout:.0f} s")
