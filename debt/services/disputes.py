"""Disputes: a shopper or staff contests an open debt; staff resolve it with a reason.

While a dispute is open the debt is DISPUTED: reminders pause (``dispute_pauses_reminders``) and,
if the policy says so (``dispute_pauses_block``), it stops blocking entry.

- Rejected: the debt is owed; it goes back to OPEN (block and reminders resume).
- Upheld: the amount found not owed (all that is outstanding, or part of it) is REVERSED in the
  ledger. Amazon is told the corrected figures at once: total = cart total less everything
  reversed, settled = what was actually collected. So a fully upheld dispute clears the trip in
  Amazon's book (outstanding 0) without claiming money we never received. The trip's own state
  and priced total are left as they are; the debt records that nothing more is owed.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction

from core.audit import audit_record
from core.clock import now as business_now
from core.errors import Conflict, FieldProblem, ValidationFailed
from core.money import round_money
from trips.locks import trip_qs_for_update

from ..enums import (
    DebtState,
    DisputeResolutionReason,
    DisputeSource,
    DisputeStatus,
    LedgerEntryKind,
)
from ..locks import debt_qs_for_update
from ..models import Debt, DebtDispute
from ..transitions import debt_transition, dispute_transition
from .debts import debt_settle_state, ledger_append
from .feedback import REASON_REVERSED, debt_report_to_amazon
from .standing import standing_recalculate


def dispute_open(*, debt_id: int, source: str, opened_by: str, statement: str = "") -> DebtDispute:
    if source not in DisputeSource.values:
        raise ValidationFailed([FieldProblem("source", "NOT_ALLOWED")])
    with transaction.atomic():
        debt = debt_qs_for_update().filter(pk=debt_id).first()
        if debt is None:
            raise ValidationFailed([FieldProblem("debt_id", "UNKNOWN")])
        if debt.state != DebtState.OPEN:
            raise Conflict(f"a {debt.state.lower()} debt cannot be disputed")
        try:
            with transaction.atomic():
                dispute = DebtDispute.objects.create(
                    debt=debt,
                    source=source,
                    opened_by=opened_by,
                    statement=statement[:2000],
                    opened_at=business_now(),
                )
        except IntegrityError:
            raise Conflict("this debt already has an open dispute") from None
        ledger_append(
            debt=debt,
            kind=LedgerEntryKind.DISPUTE_OPENED,
            amount=Decimal("0"),
            actor=opened_by,
            reason=source,
            reference=f"dispute:{dispute.pk}:opened",
        )
        debt_transition(
            debt_pk=debt.pk,
            to_state=DebtState.DISPUTED,
            actor=opened_by,
            reason=f"dispute opened by {source.lower()}",
            context={"dispute": dispute.pk},
        )
        standing_recalculate(
            identity_id=debt.shopper_identity_id, currency=debt.currency, actor=opened_by
        )
    return dispute


def dispute_resolve(
    *,
    dispute_id: int,
    upheld: bool,
    reason: str,
    actor: str,
    note: str = "",
    reversed_amount: Decimal | None = None,
) -> DebtDispute:
    """Record the outcome. ``reversed_amount`` (upheld only): the part not owed; default all."""
    if reason not in DisputeResolutionReason.values:
        raise ValidationFailed([FieldProblem("reason", "NOT_ALLOWED")])
    if reason == DisputeResolutionReason.OTHER and not note.strip():
        raise ValidationFailed([FieldProblem("note", "MISSING")])
    with transaction.atomic():
        dispute = DebtDispute.objects.filter(pk=dispute_id).first()
        if dispute is None:
            raise ValidationFailed([FieldProblem("dispute_id", "UNKNOWN")])
        # Lock order: trip, debt, then the dispute (in its transition).
        trip_qs_for_update().filter(debt__pk=dispute.debt_id).first()
        debt = debt_qs_for_update().select_related("trip", "trip__store").get(pk=dispute.debt_id)
        if dispute.status != DisputeStatus.OPEN:
            raise Conflict("this dispute is already resolved")
        amount = Decimal("0")
        if upheld:
            amount = debt.outstanding_amount if reversed_amount is None else reversed_amount
            _check_reversal(amount, debt)
        dispute = dispute_transition(
            dispute_pk=dispute.pk,
            to_status=DisputeStatus.UPHELD if upheld else DisputeStatus.REJECTED,
            actor=actor,
            resolved_by=actor,
            resolved_at=business_now(),
            resolution_reason=reason,
            resolution_note=note[:500],
            reversed_amount=amount,
        )
        ledger_append(
            debt=debt,
            kind=LedgerEntryKind.DISPUTE_RESOLVED,
            amount=Decimal("0"),
            actor=actor,
            reason=f"{dispute.status}: {reason}",
            reference=f"dispute:{dispute.pk}:resolved",
        )
        if upheld:
            ledger_append(
                debt=debt,
                kind=LedgerEntryKind.REVERSED,
                amount=-amount,
                actor=actor,
                reason=reason,
                reference=f"dispute:{dispute.pk}:reversed",
            )
        debt_settle_state(
            debt=debt,
            actor=actor,
            reason=f"dispute {dispute.status.lower()}: {reason}",
            context={"dispute": dispute.pk},
        )
        if upheld:
            debt_report_to_amazon(debt=debt, reason=REASON_REVERSED)
        audit_record(
            entity="dispute",
            entity_id=str(dispute.pk),
            action="resolved",
            to_state=dispute.status,
            actor=actor,
            reason=reason,
            context={"debt": debt.pk, "reversed": str(amount)},
        )
        standing_recalculate(
            identity_id=debt.shopper_identity_id, currency=debt.currency, actor=actor
        )
    return dispute


def _check_reversal(amount, debt: Debt) -> None:
    if not isinstance(amount, Decimal) or amount <= 0 or amount > debt.outstanding_amount:
        raise ValidationFailed([FieldProblem("reversed_amount", "OUT_OF_RANGE")])
    if round_money(amount, debt.currency) != amount:
        raise ValidationFailed([FieldProblem("reversed_amount", "BAD_FORMAT")])
