"""Recovery: money received from a shopper (by phone, or through the portal) clears their debts.

``debt_payoff`` records the payment, applies it to the chosen debts or oldest first, appends the
RECOVERED movements, queues a Report Payment Status per trip touched (the outbox delivers it even
if the process dies right after COMMIT), closes fully paid trips, recalculates the standing (which
lifts the block) and, when nothing is owed any more, queues the cleared confirmation, all in one
transaction.

Concurrency: the trips, then the debts, are locked before anything is applied, so two payoffs of
the same debt collect once. Same idempotency key → one payment (the replay returns it); a
different key that finds nothing left to pay is refused (``PayoffExceedsBalance``) and records
nothing, unless the caller already holds the money (``accept_excess``, e.g. a Stripe webhook):
then the excess is kept on the payment as ``unapplied_amount`` for a refund, and an alert raised.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction

from core.alerts import alert_raise
from core.audit import audit_record
from core.clock import now as business_now
from core.errors import Conflict, FieldProblem, ValidationFailed
from core.money import currency_exponent, round_money
from trips.enums import TripState
from trips.locks import trip_qs_for_update
from trips.transitions import transition_allowed, trip_transition

from ..enums import DebtState, LedgerEntryKind, NoticeKind, PaymentMethod
from ..locks import debt_qs_for_update
from ..models import Debt, DebtPayment, DebtPaymentAllocation
from ..selectors import payable_amount, payable_debts
from .debts import debt_settle_state, ledger_append
from .feedback import REASON_RECOVERED, debt_report_to_amazon
from .notices import notice_enqueue
from .standing import standing_recalculate

ZERO = Decimal("0")


class PayoffExceedsBalance(Conflict):
    code = "PayoffExceedsBalance"
    shopper_visible = True


class IdempotencyKeyReused(Conflict):
    code = "IdempotencyConflict"


def _validate(*, identity_id, currency, amount, method, idempotency_key, debt_ids) -> None:
    problems = []
    if not isinstance(identity_id, str) or not identity_id.strip() or len(identity_id) > 255:
        problems.append(FieldProblem("identity_id", "BAD_FORMAT"))
    try:
        currency_exponent(currency)
    except (ValueError, TypeError):
        problems.append(FieldProblem("currency", "NOT_ALLOWED"))
    else:
        if not isinstance(amount, Decimal) or not amount.is_finite():
            problems.append(FieldProblem("amount", "WRONG_TYPE"))
        elif amount <= 0:
            problems.append(FieldProblem("amount", "OUT_OF_RANGE"))
        elif round_money(amount, currency) != amount:
            problems.append(FieldProblem("amount", "BAD_FORMAT"))
    if method not in PaymentMethod.values:
        problems.append(FieldProblem("method", "NOT_ALLOWED"))
    if not isinstance(idempotency_key, str) or not idempotency_key.strip():
        problems.append(FieldProblem("idempotency_key", "MISSING"))
    elif len(idempotency_key) > 200:
        problems.append(FieldProblem("idempotency_key", "TOO_LONG"))
    if debt_ids is not None and (
        not debt_ids or not all(isinstance(pk, int) and not isinstance(pk, bool) for pk in debt_ids)
    ):
        problems.append(FieldProblem("debt_ids", "BAD_FORMAT"))
    if problems:
        raise ValidationFailed(problems)


def _replay(payment: DebtPayment, *, identity_id, currency, amount, method) -> DebtPayment:
    same = (payment.identity_id, payment.currency, payment.amount, payment.method) == (
        identity_id,
        currency,
        amount,
        method,
    )
    if not same:
        raise IdempotencyKeyReused("this idempotency key was used for another payment")
    return payment


def debt_payoff(
    *,
    identity_id: str,
    currency: str,
    amount: Decimal,
    method: str,
    idempotency_key: str,
    actor: str,
    debt_ids: list[int] | None = None,
    external_reference: str = "",
    accept_excess: bool = False,
) -> DebtPayment:
    """Apply a payment of ``amount`` to the shopper's debts (``debt_ids``, else oldest first)."""
    _validate(
        identity_id=identity_id,
        currency=currency,
        amount=amount,
        method=method,
        idempotency_key=idempotency_key,
        debt_ids=debt_ids,
    )
    stored = DebtPayment.objects.filter(idempotency_key=idempotency_key).first()
    if stored is not None:
        return _replay(
            stored, identity_id=identity_id, currency=currency, amount=amount, method=method
        )
    try:
        with transaction.atomic():
            return _apply(
                identity_id=identity_id,
                currency=currency,
                amount=amount,
                method=method,
                idempotency_key=idempotency_key,
                actor=actor,
                debt_ids=debt_ids,
                external_reference=external_reference,
                accept_excess=accept_excess,
            )
    except IntegrityError:
        # A concurrent call with the same key committed first: answer with its payment.
        stored = DebtPayment.objects.filter(idempotency_key=idempotency_key).first()
        if stored is None:
            raise
        return _replay(
            stored, identity_id=identity_id, currency=currency, amount=amount, method=method
        )


def _apply(
    *,
    identity_id,
    currency,
    amount,
    method,
    idempotency_key,
    actor,
    debt_ids,
    external_reference,
    accept_excess,
) -> DebtPayment:
    payment = DebtPayment.objects.create(
        idempotency_key=idempotency_key,
        method=method,
        identity_id=identity_id,
        currency=currency,
        amount=amount,
        unapplied_amount=amount,  # nothing applied yet; updated below
        external_reference=external_reference[:255],
        actor=actor,
        received_at=business_now(),
    )
    candidates = payable_debts(identity_id=identity_id, currency=currency)
    if debt_ids is not None:
        candidates = candidates.filter(pk__in=debt_ids)
        found = set(candidates.values_list("pk", flat=True))
        missing = [pk for pk in debt_ids if pk not in found]
        if missing:
            theirs = Debt.objects.filter(
                pk__in=missing, shopper_identity_id=identity_id, currency=currency
            ).exists()
            # NOT_ALLOWED: the shopper's, but disputed or already settled; UNKNOWN: not theirs.
            raise ValidationFailed(
                [FieldProblem("debt_ids", "NOT_ALLOWED" if theirs else "UNKNOWN")]
            )
    debt_pks = list(candidates.values_list("pk", flat=True))
    # Lock order: trips, then debts (each in primary-key order), then the standing.
    trip_pks = list(Debt.objects.filter(pk__in=debt_pks).values_list("trip_id", flat=True))
    list(trip_qs_for_update().filter(pk__in=trip_pks))
    debts = list(debt_qs_for_update().filter(pk__in=debt_pks).select_related("trip", "trip__store"))
    debts.sort(key=lambda debt: (debt.incurred_at, debt.pk))
    remaining = amount
    for debt in debts:
        if remaining <= 0:
            break
        if debt.state not in (DebtState.OPEN, DebtState.WRITTEN_OFF):
            continue  # changed state while we waited for the lock
        taken = min(remaining, debt.outstanding_amount + debt.written_off_amount)
        if taken > 0:
            _apply_to_debt(payment=payment, debt=debt, amount=taken, actor=actor)
            remaining -= taken
    if remaining > 0 and not accept_excess:
        raise PayoffExceedsBalance(f"the payment exceeds what is owed by {remaining} {currency}")
    payment.applied_amount = amount - remaining
    payment.unapplied_amount = remaining
    payment.save(update_fields=["applied_amount", "unapplied_amount"])
    if remaining > 0:
        alert_raise(
            key=f"debt-payment-unapplied:{payment.pk}",
            kind="debt_payment_unapplied",
            message=f"payment {payment.pk} has {remaining} {currency} owed to no debt: refund it",
            context={"payment": payment.pk},
        )
    audit_record(
        entity="debt_payment",
        entity_id=str(payment.pk),
        action="received",
        actor=actor,
        context={
            "method": method,
            "amount": str(amount),
            "applied": str(payment.applied_amount),
            "currency": currency,
        },
    )
    standing_recalculate(identity_id=identity_id, currency=currency, actor=actor)
    if (
        payment.applied_amount > 0
        and payable_amount(identity_id=identity_id, currency=currency) == 0
    ):
        last = max(debts, key=lambda debt: (debt.incurred_at, debt.pk))
        notice_enqueue(
            kind=NoticeKind.CLEARED,
            key=f"cleared:{payment.pk}",
            identity_id=identity_id,
            currency=currency,
            store=last.store,
            payment=payment,
        )
    return payment


def _apply_to_debt(*, payment: DebtPayment, debt: Debt, amount: Decimal, actor: str) -> None:
    """Apply ``amount`` to one locked debt: first what is outstanding, then what was written off
    (reinstated, then recovered), report the trip to Amazon, close the trip when paid in full."""
    from_written_off = max(ZERO, amount - debt.outstanding_amount)
    reference = f"payment:{payment.pk}:debt:{debt.pk}"
    if from_written_off > 0:
        ledger_append(
            debt=debt,
            kind=LedgerEntryKind.WRITE_OFF_REINSTATED,
            amount=from_written_off,
            actor=actor,
            reason="written-off amount paid",
            reference=f"{reference}:reinstate",
        )
    ledger_append(
        debt=debt,
        kind=LedgerEntryKind.RECOVERED,
        amount=-amount,
        actor=actor,
        reason=payment.method,
        reference=reference,
    )
    cleared = debt.outstanding_amount == 0 and debt.written_off_amount == 0
    DebtPaymentAllocation.objects.create(
        payment=payment, debt=debt, amount=amount, cleared_debt=cleared
    )
    debt_settle_state(debt=debt, actor=actor, reason="payment", context={"payment": payment.pk})
    debt_report_to_amazon(debt=debt, reason=REASON_RECOVERED)
    trip = debt.trip
    if cleared and transition_allowed(trip.state, TripState.SETTLED):
        trip_transition(
            trip_pk=trip.pk,
            to_state=TripState.SETTLED,
            actor=actor,
            reason="debt recovered",
            context={"payment": payment.pk},
            updates={"settled_amount": debt.amazon_settled},
        )
