"""Incur a debt for a trip that was not paid in full, and append ledger movements."""

from decimal import Decimal

from django.db import IntegrityError, connection, transaction

from core.audit import audit_record
from core.clock import now as business_now
from trips.models import ShoppingTrip

from ..enums import DebtState, LedgerEntryKind, NoticeKind
from ..locks import debt_qs_for_update
from ..models import Debt, DebtLedgerEntry
from ..transitions import debt_transition
from .notices import notice_enqueue
from .standing import standing_recalculate

# How each movement moves the debt's resolution columns (the ledger's sum is outstanding).
_RESOLUTION_FIELD = {
    LedgerEntryKind.RECOVERED: ("recovered_amount", -1),
    LedgerEntryKind.WRITTEN_OFF: ("written_off_amount", -1),
    LedgerEntryKind.WRITE_OFF_REINSTATED: ("written_off_amount", -1),
    LedgerEntryKind.REVERSED: ("reversed_amount", -1),
}


def ledger_append(
    *,
    debt: Debt,
    kind: str,
    amount: Decimal,
    actor: str,
    reason: str = "",
    reference: str | None = None,
    also_save: tuple[str, ...] = (),
) -> DebtLedgerEntry | None:
    """Append a movement; keep ``outstanding_amount`` equal to the ledger's sum and the
    recovered / written-off / reversed columns equal to their movements.

    The caller holds the debt's row lock. A movement whose ``reference`` was already recorded is
    not applied again (returns None). ``also_save`` names fields the caller changed on ``debt``
    that must be saved in the same UPDATE (the row's amounts are checked to add up).
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
    if amount or also_save:
        fields = ["outstanding_amount", "updated_at", *also_save]
        debt.outstanding_amount = debt.outstanding_amount + amount
        if kind in _RESOLUTION_FIELD:
            field, sign = _RESOLUTION_FIELD[kind]
            setattr(debt, field, getattr(debt, field) + sign * amount)
            fields.append(field)
        debt.save(update_fields=fields)
    return entry


def debt_settle_state(*, debt: Debt, actor: str, reason: str, context: dict | None = None) -> Debt:
    """Once nothing is outstanding, close the debt in the state its ledger says: written off if a
    written-off part remains, else recovered if anything was paid, else reversed. A debt with
    something still outstanding is (or goes back to) OPEN."""
    if debt.outstanding_amount > 0:
        target = DebtState.OPEN
    elif debt.written_off_amount > 0:
        target = DebtState.WRITTEN_OFF
    elif debt.recovered_amount > 0:
        target = DebtState.RECOVERED
    else:
        target = DebtState.REVERSED
    if target == debt.state:
        return debt
    moved = debt_transition(
        debt_pk=debt.pk, to_state=target, actor=actor, reason=reason, context=context
    )
    debt.state, debt.resolved_at = moved.state, moved.resolved_at
    return debt


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
    partial approval) adds an INCURRED movement for the difference and reopens a closed debt.
    Nothing owed → no debt. A new debt queues a balance notice to the shopper.
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
        # Born with nothing owed; the INCURRED movement below sets the total and the amount
        # outstanding in one UPDATE, so the row's amounts always add up.
        debt = Debt.objects.create(
            trip=trip,
            store_id=trip.store_id,
            shopper_id=trip.shopper_id,
            shopper_identity_id=identity,
            card_brand=card_brand,
            card_tail=card_tail,
            currency=trip.currency,
            cart_total=settled_amount,
            settled_amount=settled_amount,
            outstanding_amount=Decimal("0"),
            root_cause=root_cause,
            incurred_at=at,
        )
        created = True
    increase = shortfall - debt.shortfall
    if increase <= 0:
        return debt
    # A new debt, or the card collected less than first thought: the extra shortfall is owed.
    debt.settled_amount = settled_amount
    debt.cart_total = cart_total
    debt.root_cause = root_cause
    fields = ("settled_amount", "cart_total", "root_cause")
    if not created and card_brand and not debt.card_brand:
        debt.card_brand, debt.card_tail = card_brand, card_tail
        fields += ("card_brand", "card_tail")
    ledger_append(
        debt=debt,
        kind=LedgerEntryKind.INCURRED,
        amount=increase,
        actor=actor,
        reason=root_cause,
        reference=f"incurred:{trip.pk}:{settled_amount}",
        also_save=fields,
    )
    if not created and debt.state not in (DebtState.OPEN, DebtState.DISPUTED):
        debt = debt_transition(
            debt_pk=debt.pk,
            to_state=DebtState.OPEN,
            actor=actor,
            reason="reopened: larger shortfall",
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
    standing_recalculate(identity_id=debt.shopper_identity_id, currency=debt.currency, actor=actor)
    if created and debt.shopper_identity_id:
        notice_enqueue(
            kind=NoticeKind.BALANCE,
            key=f"balance:{debt.pk}",
            identity_id=debt.shopper_identity_id,
            currency=debt.currency,
            store=trip.store,
            debt=debt,
        )
    return debt
