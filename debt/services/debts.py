"""Incur a debt for a trip that was not paid in full, and append ledger movements."""

from decimal import Decimal

from django.db import IntegrityError, connection, transaction

from core.audit import audit_record
from core.clock import now as business_now
from trips.models import ShoppingTrip

from ..enums import DebtState, LedgerEntryKind
from ..locks import debt_qs_for_update
from ..models import Debt, DebtLedgerEntry
from .standing import standing_recalculate


def ledger_append(
    *,
    debt: Debt,
    kind: str,
    amount: Decimal,
    actor: str,
    reason: str = "",
    reference: str | None = None,
) -> DebtLedgerEntry | None:
    """Append a movement and keep ``outstanding_amount`` equal to the ledger's sum.

    The caller holds the debt's row lock. A movement whose ``reference`` was already recorded is
    not applied again (returns None).
    """
    try:
        with transaction.atomic():
            entry = DebtLedgerEntry.objects.create(
                debt=debt,
                kind=kind,
                amount=amount,
                currency=debt.currency,
                actor=actor,
                reason=reason[:500],
                reference=reference,
                business_time=business_now(),
            )
    except IntegrityError:
        if reference and DebtLedgerEntry.objects.filter(reference=reference).exists():
            return None
        raise
    if amount:
        debt.outstanding_amount = debt.outstanding_amount + amount
        debt.save(update_fields=["outstanding_amount", "updated_at"])
    return entry


def debt_incur(
    *,
    trip: ShoppingTrip,
    cart_total: Decimal,
    settled_amount: Decimal,
    root_cause: str,
    actor: str,
    card_brand: str = "",
    card_tail: str = "",
) -> Debt | None:
    """Record that ``trip`` collected ``settled_amount`` of ``cart_total``; the rest is owed.

    Call in the same transaction as the shortfall, holding the trip's lock. Idempotent: one debt
    per trip; a later, larger shortfall for the same trip (e.g. a capture declined after a
    partial approval) adds an INCURRED movement for the difference. Nothing owed → no debt.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("debt_incur must run in the shortfall's transaction")
    shortfall = cart_total - settled_amount
    if shortfall < 0 or settled_amount < 0:
        raise ValueError("settled amount must be between 0 and the cart total")
    at = business_now()
    debt = debt_qs_for_update().filter(trip=trip).first()
    created = False
    if debt is None:
        if shortfall == 0:
            return None
        identity = trip.shopper.identity_id if trip.shopper_id else ""
        debt = Debt.objects.create(
            trip=trip,
            store_id=trip.store_id,
            shopper_id=trip.shopper_id,
            shopper_identity_id=identity,
            card_brand=card_brand,
            card_tail=card_tail,
            currency=trip.currency,
            cart_total=cart_total,
            settled_amount=settled_amount,
            outstanding_amount=Decimal("0"),
            root_cause=root_cause,
            incurred_at=at,
        )
        created = True
    already_incurred = debt.cart_total - debt.settled_amount if not created else Decimal("0")
    increase = shortfall - already_incurred
    if not created and increase <= 0:
        return debt
    if not created:
        debt.settled_amount = settled_amount
        debt.root_cause = root_cause
        debt.save(update_fields=["settled_amount", "root_cause", "updated_at"])
        if debt.state not in (DebtState.OPEN, DebtState.DISPUTED):
            debt.state = DebtState.OPEN
            debt.resolved_at = None
            debt.save(update_fields=["state", "resolved_at", "updated_at"])
    ledger_append(
        debt=debt,
        kind=LedgerEntryKind.INCURRED,
        amount=increase,
        actor=actor,
        reason=root_cause,
        reference=f"incurred:{trip.pk}:{settled_amount}",
    )
    audit_record(
        entity="debt",
        entity_id=str(debt.pk),
        action="incurred" if created else "increased",
        to_state=debt.state,
        actor=actor,
        reason=root_cause,
        context={"trip": trip.audit_id, "amount": str(increase), "currency": debt.currency},
    )
    standing_recalculate(identity_id=debt.shopper_identity_id, currency=debt.currency)
    return debt
