"""A debt's allowed moves, as data, and the one function that changes a debt's state."""

from django.db import transaction

from core.audit import audit_record
from core.clock import now as business_now
from core.errors import InvalidTransition

from .enums import DebtState as S
from .locks import debt_qs_for_update
from .models import Debt

TRANSITIONS: dict[str, frozenset[str]] = {
    S.OPEN: frozenset({S.DISPUTED, S.RECOVERED, S.WRITTEN_OFF, S.REVERSED}),
    S.DISPUTED: frozenset({S.OPEN, S.RECOVERED, S.WRITTEN_OFF, S.REVERSED}),
    # A written-off debt can still be paid later (the shopper pays after all).
    S.WRITTEN_OFF: frozenset({S.RECOVERED}),
    S.RECOVERED: frozenset(),
    S.REVERSED: frozenset(),
}
RESOLVED_STATES = frozenset({S.RECOVERED, S.WRITTEN_OFF, S.REVERSED})


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
