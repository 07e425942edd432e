"""Compare our debts with what Amazon was told, and with a balance book when one is given."""

from django.core.management.base import BaseCommand

from debt.ports import balance_book
from debt.services.reconciliation import reconciliation_run


class Command(BaseCommand):
    help = "Reconcile our debts with the payment status reports Amazon accepted (and its book)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--book-url",
            default=None,
            help="a simulator's base URL to read the balance book from (default: the setting "
            "DEBT_BALANCE_BOOK_URL; none in production)",
        )
        parser.add_argument("--identity", action="append", dest="identities", default=None)

    def handle(self, *args, book_url=None, identities=None, **options):
        run = reconciliation_run(
            actor="command:debt_reconcile", book=balance_book(book_url), identity_ids=identities
        )
        self.stdout.write(
            f"run {run.pk}: {run.trips_compared} trips, {run.shoppers_compared} shoppers, "
            f"{run.differences_found} difference(s)"
        )
        for difference in run.differences.order_by("kind", "identity_id"):
            trip = difference.trip.shopping_trip_id if difference.trip_id else "-"
            self.stdout.write(
                f"{difference.kind}\t{difference.identity_id}\t{trip}\t"
                f"ours={difference.ours}\ttheirs={difference.theirs}\t"
                f"{difference.currency}\t{difference.detail}"
            )
