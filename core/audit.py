"""Append an audit entry. Callers are the one state-changing function of each model."""

from . import clock
from .models import AuditEntry
from .sql import row_insert

SYSTEM = "system"


def actor_for_user(user) -> str:
    if user is None or not getattr(user, "is_authenticated", False):
        return "anonymous"
    return f"user:{user.pk}:{user.get_username()}"


def audit_record(
    *,
    entity: str,
    entity_id: str,
    action: str,
    actor: str,
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    context: dict | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        reason=reason[:500],
        context=context or {},
        business_time=clock.now(),
    )
    row_insert(entry)
    return entry


def audit_trail(*, entity: str, entity_id: str):
    return AuditEntry.objects.filter(entity=entity, entity_id=str(entity_id)).order_by("id")
