"""A price version's allowed moves, as data, and the one function that changes its status."""

from django.db import transaction

from core.audit import audit_record
from core.errors import InvalidTransition

from .enums import VersionStatus as S
from .models import PriceVersion

TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.PUBLISHED, S.DISCARDED}),
    S.PUBLISHED: frozenset(),  # immutable: a change or a rollback is a new version
    S.DISCARDED: frozenset(),
}
UPDATABLE_FIELDS = frozenset({"published_by", "published_at", "effective_from"})


def price_version_transition(
    *, version_pk: int, to_status: str, actor: str, reason: str = "", updates: dict | None = None
) -> PriceVersion:
    """Lock the version, check the move, save it and append an audit entry."""
    updates = updates or {}
    unknown = set(updates) - UPDATABLE_FIELDS
    if unknown:
        raise ValueError(f"fields not settable by a transition: {sorted(unknown)}")
    with transaction.atomic():
        version = PriceVersion.objects.select_for_update().get(pk=version_pk)
        from_status = version.status
        if to_status not in TRANSITIONS.get(from_status, frozenset()):
            raise InvalidTransition("price_version", from_status, to_status)
        version.status = to_status
        for field, value in updates.items():
            setattr(version, field, value)
        version.save(update_fields=["status", *updates])
        audit_record(
            entity="price_version",
            entity_id=f"{version.store_id}:{version.number}",
            action="transition",
            from_state=from_status,
            to_state=to_status,
            actor=actor,
            reason=reason,
            context={key: str(value) for key, value in updates.items()},
        )
    return version
