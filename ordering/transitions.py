"""The allowed moves of purchases and bad-cart cases, as data, and the one function for each
that changes the state: lock the row, check the table, save with ``update_fields``, audit."""

from django.db import transaction

from core.audit import audit_record
from core.errors import InvalidTransition

from .enums import BadCartStatus, PurchaseStatus
from .models import BadCartCase, Purchase

PURCHASE_TRANSITIONS: dict[str, frozenset[str]] = {
    PurchaseStatus.IN_REVIEW: frozenset({PurchaseStatus.PRICED, PurchaseStatus.CANCELLED}),
    PurchaseStatus.PRICED: frozenset(),
    PurchaseStatus.CANCELLED: frozenset(),
    PurchaseStatus.HELD: frozenset(),
}
PURCHASE_FIELDS = frozenset(
    {"subtotal", "discount_total", "tax_total", "total", "priced_at", "price_version"}
)

BAD_CART_TRANSITIONS: dict[str, frozenset[str]] = {
    BadCartStatus.OPEN: frozenset({BadCartStatus.RESOLVED, BadCartStatus.SETTLED_BY_POLICY}),
    BadCartStatus.RESOLVED: frozenset(),
    BadCartStatus.SETTLED_BY_POLICY: frozenset(),
}
BAD_CART_FIELDS = frozenset({"closed_at", "closed_by", "outcome"})


def _check(entity: str, table: dict, from_state: str, to_state: str, updates: dict, allowed):
    unknown = set(updates) - allowed
    if unknown:
        raise ValueError(f"fields not settable by a transition: {sorted(unknown)}")
    if to_state not in table.get(from_state, frozenset()):
        raise InvalidTransition(entity, from_state, to_state)


def purchase_transition(
    *, purchase_pk: int, to_status: str, actor: str, reason: str = "", updates: dict | None = None
) -> Purchase:
    updates = updates or {}
    with transaction.atomic():
        purchase = Purchase.objects.select_for_update().get(pk=purchase_pk)
        from_status = purchase.status
        _check("purchase", PURCHASE_TRANSITIONS, from_status, to_status, updates, PURCHASE_FIELDS)
        purchase.status = to_status
        for name, value in updates.items():
            setattr(purchase, name, value)
        purchase.save(update_fields=["status", *updates])
        audit_record(
            entity="purchase",
            entity_id=purchase.purchase_id,
            action="transition",
            from_state=from_status,
            to_state=to_status,
            actor=actor,
            reason=reason,
            context={name: str(value) for name, value in updates.items()},
        )
    return purchase


def bad_cart_transition(
    *, case_pk: int, to_status: str, actor: str, reason: str = "", updates: dict | None = None
) -> BadCartCase:
    updates = updates or {}
    with transaction.atomic():
        case = BadCartCase.objects.select_for_update().get(pk=case_pk)
        from_status = case.status
        _check("bad_cart", BAD_CART_TRANSITIONS, from_status, to_status, updates, BAD_CART_FIELDS)
        case.status = to_status
        for name, value in updates.items():
            setattr(case, name, value)
        case.save(update_fields=["status", *updates])
        audit_record(
            entity="bad_cart",
            entity_id=str(case.pk),
            action="transition",
            from_state=from_status,
            to_state=to_status,
            actor=actor,
            reason=reason,
            context={name: str(value) for name, value in updates.items()},
        )
    return case
