"""Reads for debts. ``shopper_standing`` is the gate's single indexed lookup."""

from decimal import Decimal

from django.db.models import F, QuerySet, Sum

from .enums import PAYABLE_STATES, DebtState, NoticeKind, WriteOffStatus
from .models import Debt, DebtNotice, DebtPayment, ShopperStanding, WriteOffRequest

ZERO = Decimal("0")


def shopper_standing(*, identity_id: str, currency: str) -> ShopperStanding | None:
    return ShopperStanding.objects.filter(identity_id=identity_id, currency=currency).first()


def debt_for_trip(*, trip) -> Debt | None:
    return Debt.objects.filter(trip=trip).first()


def payable_debts(*, identity_id: str, currency: str, include_disputed: bool = False) -> QuerySet:
    """Debts the shopper can pay, oldest first: open, and written off (still owed at Amazon,
    which keeps blocking until it hears of a payment). Disputed debts wait for the dispute's
    outcome; ``include_disputed`` lists them too (for the shopper's statement)."""
    states = set(PAYABLE_STATES)
    if include_disputed:
        states.add(DebtState.DISPUTED)
    return (
        Debt.objects.filter(shopper_identity_id=identity_id, currency=currency, state__in=states)
        .annotate(payable=F("outstanding_amount") + F("written_off_amount"))
        .filter(payable__gt=0)
        .select_related("store", "trip")
        .order_by("incurred_at", "pk")
    )


def payable_amount(*, identity_id: str, currency: str) -> Decimal:
    total = payable_debts(identity_id=identity_id, currency=currency).aggregate(
        total=Sum("payable")
    )["total"]
    return total or ZERO


def debt_payment_by_key(*, idempotency_key: str) -> DebtPayment | None:
    return DebtPayment.objects.filter(idempotency_key=idempotency_key).first()


def last_notice_at(*, identity_id: str, currency: str):
    return (
        DebtNotice.objects.filter(
            identity_id=identity_id,
            currency=currency,
            kind__in=[NoticeKind.BALANCE, NoticeKind.REMINDER],
        )
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def pending_write_offs() -> QuerySet:
    return WriteOffRequest.objects.filter(status=WriteOffStatus.PENDING).select_related(
        "debt", "requested_by"
    )
