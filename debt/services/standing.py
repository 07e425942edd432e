"""Keep each shopper's standing (the gate's one lookup) equal to what their debts say."""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q, Sum

from ..enums import DebtState, EscalationLevel
from ..locks import standing_qs_for_update
from ..models import Debt, ShopperStanding

ZERO = Decimal("0")


def _standing_lock(identity_id: str, currency: str) -> ShopperStanding:
    standing = standing_qs_for_update().filter(identity_id=identity_id, currency=currency).first()
    if standing is not None:
        return standing
    try:
        with transaction.atomic():
            ShopperStanding.objects.create(identity_id=identity_id, currency=currency)
    except IntegrityError:
        pass
    return standing_qs_for_update().get(identity_id=identity_id, currency=currency)


def standing_recalculate(*, identity_id: str, currency: str) -> ShopperStanding:
    """Rebuild one standing from the debts, under its row lock. Call inside the debt's transaction.

    Blocking: open debts block; a disputed debt blocks unless its store pauses the block during
    disputes (``Store.deny_entry_with_debt`` is read by the gate policy); written-off debt is
    reported separately so the gate policy decides its effect.
    """
    if not identity_id:
        return None
    with transaction.atomic():
        standing = _standing_lock(identity_id, currency)
        figures = Debt.objects.filter(shopper_identity_id=identity_id, currency=currency).aggregate(
            outstanding=Sum(
                "outstanding_amount", filter=Q(state__in=[DebtState.OPEN, DebtState.DISPUTED])
            ),
            blocking=Sum("outstanding_amount", filter=Q(state=DebtState.OPEN)),
            written_off=Sum("outstanding_amount", filter=Q(state=DebtState.WRITTEN_OFF)),
            unpaid=Count(
                "pk",
                filter=Q(state__in=[DebtState.OPEN, DebtState.DISPUTED], outstanding_amount__gt=0),
            ),
            oldest=Min(
                "incurred_at",
                filter=Q(state__in=[DebtState.OPEN, DebtState.DISPUTED], outstanding_amount__gt=0),
            ),
        )
        standing.outstanding_amount = figures["outstanding"] or ZERO
        standing.blocking_amount = figures["blocking"] or ZERO
        standing.written_off_amount = figures["written_off"] or ZERO
        standing.unpaid_trips = figures["unpaid"]
        standing.oldest_unpaid_at = figures["oldest"]
        if standing.unpaid_trips == 0 and standing.escalation_level != EscalationLevel.FRAUD_REVIEW:
            standing.escalation_level = EscalationLevel.NONE
        standing.save()
    return standing
