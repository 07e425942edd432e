"""Allowed moves, as data, and the one function per stateful model that changes its state.

Each function locks the row, checks the move against its table, saves with ``update_fields`` and
appends an audit entry. Extra fields that travel with the move are passed in ``updates`` and must
be listed for that model.
"""

from django.db import models, transaction

from core.audit import audit_record
from core.clock import now as business_now
from core.errors import InvalidTransition

from .enums import DebtState as S
from .enums import DisputeStatus, FraudCaseStatus, NoticeStatus, WriteOffStatus
from .locks import debt_qs_for_update
from .models import Debt, DebtDispute, DebtNotice, FraudReviewCase, WriteOffRequest

TRANSITIONS: dict[str, frozenset[str]] = {
    S.OPEN: frozenset({S.DISPUTED, S.RECOVERED, S.WRITTEN_OFF, S.REVERSED}),
    S.DISPUTED: frozenset({S.OPEN, S.RECOVERED, S.WRITTEN_OFF, S.REVERSED}),
    # A written-off debt can still be paid later (the shopper pays after all).
    S.WRITTEN_OFF: frozenset({S.RECOVERED, S.OPEN}),
    # Closed debts reopen only when the payment lifecycle records a larger shortfall for the
    # trip (e.g. a capture declined after a partial capture whose shortfall was already paid).
    S.RECOVERED: frozenset({S.OPEN}),
    S.REVERSED: frozenset({S.OPEN}),
}
RESOLVED_STATES = frozenset({S.RECOVERED, S.WRITTEN_OFF, S.REVERSED})

WRITE_OFF_TRANSITIONS = {
    WriteOffStatus.PENDING: frozenset(
        {WriteOffStatus.APPROVED, WriteOffStatus.REJECTED, WriteOffStatus.CANCELLED}
    ),
}
DISPUTE_TRANSITIONS = {
    DisputeStatus.OPEN: frozenset({DisputeStatus.UPHELD, DisputeStatus.REJECTED}),
}
FRAUD_CASE_TRANSITIONS = {
    FraudCaseStatus.OPEN: frozenset({FraudCaseStatus.CLEARED, FraudCaseStatus.CONFIRMED}),
}
NOTICE_TRANSITIONS = {
    NoticeStatus.PENDING: frozenset(
        {NoticeStatus.SENT, NoticeStatus.FAILED, NoticeStatus.NO_EMAIL, NoticeStatus.SKIPPED}
    ),
    NoticeStatus.SENT: frozenset({NoticeStatus.BOUNCED}),
    # An operator may send a failed notice again.
    NoticeStatus.FAILED: frozenset({NoticeStatus.PENDING}),
}


def debt_transition(
    *, debt_pk: int, to_state: str, actor: str, reason: str = "", context: dict | None = None
) -> Debt:
    with transaction.atomic():
        debt = debt_qs_for_update().get(pk=debt_pk)
        from_state = debt.state
        if to_state not in TRANSITIONS.get(from_state, frozenset()):
            raise InvalidTransition("debt", from_state, to_state)
        debt.state = to_state
        fields = ["state", "updated_at"]
        if to_state in RESOLVED_STATES:
            debt.resolved_at = business_now()
            fields.append("resolved_at")
        elif debt.resolved_at is not None:
            debt.resolved_at = None
            fields.append("resolved_at")
        debt.save(update_fields=fields)
        audit_record(
            entity="debt",
            entity_id=str(debt.pk),
            action="transition",
            from_state=from_state,
            to_state=to_state,
            actor=actor,
            reason=reason,
            context=context or {},
        )
    return debt


def _status_transition(
    *,
    model: type[models.Model],
    entity: str,
    table: dict,
    pk: int,
    to_status: str,
    actor: str,
    reason: str = "",
    updates: dict | None = None,
    allowed_updates: frozenset[str],
):
    updates = updates or {}
    unknown = set(updates) - allowed_updates
    if unknown:
        raise ValueError(f"fields not settable by a {entity} transition: {sorted(unknown)}")
    with transaction.atomic():
        row = model.objects.select_for_update().get(pk=pk)
        from_status = row.status
        if to_status not in table.get(from_status, frozenset()):
            raise InvalidTransition(entity, from_status, to_status)
        row.status = to_status
        for field, value in updates.items():
            setattr(row, field, value)
        row.save(update_fields=["status", *updates])
        audit_record(
            entity=entity,
            entity_id=str(row.pk),
            action="transition",
            from_state=from_status,
            to_state=to_status,
            actor=actor,
            reason=reason,
            context={k: str(v) for k, v in updates.items() if not k.endswith("_by")},
        )
    return row


def write_off_transition(*, request_pk: int, to_status: str, actor: str, **updates):
    return _status_transition(
        model=WriteOffRequest,
        entity="write_off",
        table=WRITE_OFF_TRANSITIONS,
        pk=request_pk,
        to_status=to_status,
        actor=actor,
        reason=updates.get("decision_note", ""),
        updates=updates,
        allowed_updates=frozenset({"decided_by", "decided_at", "decision_note"}),
    )


def dispute_transition(*, dispute_pk: int, to_status: str, actor: str, **updates):
    return _status_transition(
        model=DebtDispute,
        entity="dispute",
        table=DISPUTE_TRANSITIONS,
        pk=dispute_pk,
        to_status=to_status,
        actor=actor,
        reason=updates.get("resolution_reason", ""),
        updates=updates,
        allowed_updates=frozenset(
            {
                "resolved_by",
                "resolved_at",
                "resolution_reason",
                "resolution_note",
                "reversed_amount",
            }
        ),
    )


def fraud_case_transition(*, case_pk: int, to_status: str, actor: str, **updates):
    return _status_transition(
        model=FraudReviewCase,
        entity="fraud_case",
        table=FRAUD_CASE_TRANSITIONS,
        pk=case_pk,
        to_status=to_status,
        actor=actor,
        reason=updates.get("note", ""),
        updates=updates,
        allowed_updates=frozenset({"closed_by", "closed_at", "note"}),
    )


def notice_transition(*, notice_pk: int, to_status: str, actor: str, **updates):
    return _status_transition(
        model=DebtNotice,
        entity="debt_notice",
        table=NOTICE_TRANSITIONS,
        pk=notice_pk,
        to_status=to_status,
        actor=actor,
        reason=updates.get("last_error", ""),
        updates={"status_changed_at": business_now(), **updates},
        allowed_updates=frozenset(
            {
                "status_changed_at",
                "sent_at",
                "message_id",
                "last_error",
                "balance_amount",
                "attempts",
            }
        ),
    )
