"""Reconciliation: compare our debts with what Amazon was told, and list every difference.

Two comparisons:

1. Per trip, with our own record of what Amazon accepted (``trips.PaymentStatusReport`` rows
   with outcome ``Accepted``): the last accepted report's total − settled must equal what our
   books say Amazon should show (``Debt.amazon_outstanding``: open plus written-off amounts,
   since a write-off is not reported), and a trip without a debt must not have been reported
   unpaid. A newer report that says the right thing but is not accepted yet is "in flight" (only
   listed once it is overdue), "dead" (its outbox message gave up) or "rejected".
2. Per shopper and currency, with Amazon's balance book when one can be read (the simulator's
   ``/_sim/v1/balances``; Amazon offers no such API): amount and number of trips.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from django.db import transaction

from core.alerts import alert_raise
from core.clock import now as business_now
from core.models import OutboxMessage, OutboxStatus
from trips.models import PaymentStatusReport

from ..enums import DifferenceKind
from ..models import Debt, ReconciliationDifference, ReconciliationRun
from ..ports import BalanceBook, LookupRetryable

ACCEPTED = "Accepted"
REJECTED = "Rejected"
ZERO = Decimal("0")
DEFAULT_OVERDUE = timedelta(minutes=30)


def _latest_reports(trip_ids, *, accepted_only: bool) -> dict[int, PaymentStatusReport]:
    reports = PaymentStatusReport.objects.filter(trip_id__in=trip_ids)
    if accepted_only:
        reports = reports.filter(outcome=ACCEPTED)
    latest = reports.order_by("trip_id", "-sequence").distinct("trip_id")
    return {report.trip_id: report for report in latest}


def _outbox_status(reports) -> dict[str, str]:
    keys = [report.outbox_key for report in reports]
    return dict(OutboxMessage.objects.filter(key__in=keys).values_list("key", "status"))


def _told(report: PaymentStatusReport | None) -> Decimal | None:
    return None if report is None else report.total_amount - report.settled_amount


def reconciliation_run(
    *,
    actor: str,
    book: BalanceBook | None = None,
    overdue_after: timedelta = DEFAULT_OVERDUE,
    identity_ids: list[str] | None = None,
) -> ReconciliationRun:
    now = business_now()
    run = ReconciliationRun.objects.create(
        started_at=now, actor=actor, with_balance_book=book is not None
    )
    differences: list[ReconciliationDifference] = []
    debts = Debt.objects.select_related("trip")
    if identity_ids is not None:
        debts = debts.filter(shopper_identity_id__in=identity_ids)
    debts = list(debts)
    by_trip = {debt.trip_id: debt for debt in debts}
    accepted = _latest_reports(list(by_trip), accepted_only=True)
    latest = _latest_reports(list(by_trip), accepted_only=False)
    outbox = _outbox_status(latest.values())

    for debt in debts:
        expected = debt.amazon_outstanding
        told = _told(accepted.get(debt.trip_id))
        if told == expected or (told is None and expected == 0 and debt.trip_id not in latest):
            continue
        newest = latest.get(debt.trip_id)
        kind, detail = _classify(debt, expected, told, newest, outbox, now - overdue_after)
        if kind is None:
            continue
        differences.append(
            ReconciliationDifference(
                run=run,
                kind=kind,
                trip=debt.trip,
                identity_id=debt.shopper_identity_id,
                currency=debt.currency,
                ours=expected,
                theirs=told,
                detail=detail,
            )
        )
    unreported = _unpaid_without_debt(run, identity_ids)
    differences += unreported
    shoppers = 0
    if book is not None:
        also = {difference.identity_id for difference in unreported if difference.identity_id}
        book_differences, shoppers = _compare_book(
            run, book, debts, sorted(set(identity_ids or []) | also)
        )
        differences += book_differences
    with transaction.atomic():
        ReconciliationDifference.objects.bulk_create(differences)
        run.finished_at = business_now()
        run.trips_compared = len(debts)
        run.shoppers_compared = shoppers
        run.differences_found = len(differences)
        run.save(
            update_fields=[
                "finished_at",
                "trips_compared",
                "shoppers_compared",
                "differences_found",
            ]
        )
    if differences:
        alert_raise(
            key="debt-reconciliation-differences",
            kind="debt_reconciliation",
            message=f"debt reconciliation run {run.pk} found {len(differences)} difference(s)",
            context={"run": run.pk},
        )
    return run


def _classify(debt, expected, told, newest, outbox, overdue_before):
    """Why Amazon's figure differs from ours: a report on its way, a failed one, or a gap."""
    if newest is not None and newest.outcome != ACCEPTED and _told(newest) == expected:
        status = outbox.get(newest.outbox_key)
        if newest.outcome == REJECTED:
            return DifferenceKind.REPORT_REJECTED, f"report #{newest.sequence} rejected"
        if status == OutboxStatus.DEAD or newest.outcome:
            # The outbox gave up, or Amazon refused it for good (e.g. "Failed": a 400).
            outcome = newest.outcome or "outbox dead"
            return DifferenceKind.REPORT_DEAD, f"report #{newest.sequence} gave up: {outcome}"
        if newest.created_at < overdue_before:
            return DifferenceKind.REPORT_IN_FLIGHT, f"report #{newest.sequence} not accepted yet"
        return None, ""
    if told is None:
        return DifferenceKind.NOT_REPORTED, "no accepted report for this trip"
    return DifferenceKind.AMOUNT_MISMATCH, f"{debt.state.lower()} debt, {debt.root_cause}"


def _unpaid_without_debt(run, identity_ids) -> list[ReconciliationDifference]:
    """Trips Amazon was last told are unpaid, for which we hold no debt at all."""
    reports = (
        PaymentStatusReport.objects.filter(outcome=ACCEPTED, trip__debt__isnull=True)
        .select_related("trip", "trip__shopper")
        .order_by("trip_id", "-sequence")
        .distinct("trip_id")
    )
    if identity_ids is not None:
        reports = reports.filter(trip__shopper__identity_id__in=identity_ids)
    found = []
    for report in reports:
        told = report.total_amount - report.settled_amount
        if told <= 0:
            continue
        found.append(
            ReconciliationDifference(
                run=run,
                kind=DifferenceKind.UNPAID_WITHOUT_DEBT,
                trip=report.trip,
                identity_id=report.trip.shopper.identity_id if report.trip.shopper_id else "",
                currency=report.currency,
                ours=ZERO,
                theirs=told,
                detail=f"report #{report.sequence}: {report.reason}",
            )
        )
    return found


def _compare_book(run, book: BalanceBook, debts, identity_ids):
    ours: dict[tuple[str, str], list] = defaultdict(lambda: [ZERO, 0])
    for debt in debts:
        owed = debt.amazon_outstanding
        if owed > 0 and debt.shopper_identity_id:
            entry = ours[(debt.shopper_identity_id, debt.currency)]
            entry[0] += owed
            entry[1] += 1
    identities = set(identity_ids) | {
        debt.shopper_identity_id for debt in debts if debt.shopper_identity_id
    }
    found = []
    for identity in sorted(identities):
        try:
            balances = book.balances(identity_id=identity)
        except LookupRetryable as error:
            found.append(_book_difference(run, identity, "USD", None, None, error.reason))
            continue
        theirs = {balance.currency: balance for balance in balances}
        currencies = {currency for (who, currency) in ours if who == identity} | set(theirs)
        for currency in sorted(currencies):
            amount, trips = ours.get((identity, currency), (ZERO, 0))
            book_entry = theirs.get(currency)
            book_amount = book_entry.amount if book_entry else ZERO
            book_trips = book_entry.trips if book_entry else 0
            if (amount, trips) != (book_amount, book_trips):
                detail = f"trips: ours {trips}, book {book_trips}"
                found.append(_book_difference(run, identity, currency, amount, book_amount, detail))
    return found, len(identities)


def _book_difference(run, identity, currency, ours, theirs, detail) -> ReconciliationDifference:
    return ReconciliationDifference(
        run=run,
        kind=DifferenceKind.BOOK_MISMATCH,
        identity_id=identity,
        currency=currency,
        ours=ours,
        theirs=theirs,
        detail=detail[:300],
    )
