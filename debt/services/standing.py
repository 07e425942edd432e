"""Keep each shopper's standing (the gate's one lookup) equal to what their debts say."""

from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Min, Q, Sum

from core.clock import now as business_now

from ..enums import DebtState, EscalationLevel
from ..locks import standing_qs_for_update
from ..models import Debt, ShopperStanding
from .escalation import StandingFigures, escalation_apply, escalation_assess, fraud_case_flags
from .policy import debt_policy_for

ZERO = Decimal("0")
OUTSTANDING = [DebtState.OPEN, DebtState.DISPUTED]


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


def _figures(identity_id: str, currency: str, policy, now) -> tuple[dict, StandingFigures]:
    pattern_since = now - timedelta(days=policy.pattern_window_days)
    velocity_since = now - timedelta(days=policy.velocity_window_days)
    prompt = timedelta(days=policy.prompt_payment_days)
    counted = ~Q(state=DebtState.REVERSED)
    unpaid = Q(state__in=OUTSTANDING, outstanding_amount__gt=0)
    not_paid_promptly = (
        (unpaid & Q(incurred_at__lt=now - prompt))
        | Q(written_off_amount__gt=0)
        | Q(state=DebtState.RECOVERED, resolved_at__gt=F("incurred_at") + prompt)
    )
    sums = Debt.objects.filter(shopper_identity_id=identity_id, currency=currency).aggregate(
        outstanding=Sum("outstanding_amount", filter=Q(state__in=OUTSTANDING)),
        open=Sum("outstanding_amount", filter=Q(state=DebtState.OPEN)),
        disputed=Sum("outstanding_amount", filter=Q(state=DebtState.DISPUTED)),
        written_off=Sum("written_off_amount"),
        unpaid=Count("pk", filter=unpaid),
        oldest=Min("incurred_at", filter=unpaid),
        recent=Count("pk", filter=counted & Q(incurred_at__gte=pattern_since)),
        velocity=Count("pk", filter=counted & Q(incurred_at__gte=velocity_since)),
        late=Count("pk", filter=counted & Q(incurred_at__gte=pattern_since) & not_paid_promptly),
    )
    active, cleared = fraud_case_flags(
        identity_id=identity_id, currency=currency, cleared_since=pattern_since
    )
    figures = StandingFigures(
        unpaid_trips=sums["unpaid"],
        outstanding=sums["outstanding"] or ZERO,
        written_off=sums["written_off"] or ZERO,
        oldest_unpaid_at=sums["oldest"],
        recent_debts=sums["recent"],
        velocity_debts=sums["velocity"],
        late_or_unpaid_debts=sums["late"],
        fraud_case_active=active,
        fraud_cleared_recently=cleared,
    )
    return sums, figures


def standing_recalculate(
    *, identity_id: str, currency: str, actor: str = "system:debt"
) -> ShopperStanding | None:
    """Rebuild one standing from the debts and re-assess its level, under its row lock.

    Call inside the debt change's transaction (after the debt rows are locked: lock order is
    trip → debt → standing). What blocks entry follows the debt policy: open debt always;
    disputed debt unless ``dispute_pauses_block``; written-off amounts if
    ``written_off_blocks_entry``.
    """
    if not identity_id:
        return None
    with transaction.atomic():
        standing = _standing_lock(identity_id, currency)
        policy = debt_policy_for(currency=currency)
        now = business_now()
        sums, figures = _figures(identity_id, currency, policy, now)
        blocking = sums["open"] or ZERO
        if not policy.dispute_pauses_block:
            blocking += sums["disputed"] or ZERO
        if policy.written_off_blocks_entry:
            blocking += figures.written_off
        standing.outstanding_amount = figures.outstanding
        standing.blocking_amount = blocking
        standing.disputed_amount = sums["disputed"] or ZERO
        standing.written_off_amount = figures.written_off
        standing.unpaid_trips = figures.unpaid_trips
        standing.oldest_unpaid_at = figures.oldest_unpaid_at
        standing.recent_debts = figures.recent_debts
        standing.late_or_unpaid_debts = figures.late_or_unpaid_debts
        assessment = escalation_assess(
            figures=figures, policy=policy, now=now, denial_until=standing.denial_until
        )
        escalation_apply(standing=standing, assessment=assessment, actor=actor)
        standing.save()
    return standing


def standing_sweep(*, limit: int = 5000) -> dict[str, int]:
    """Re-assess every shopper above NONE: levels move with time (age, windows, denial periods).

    Run by beat; each standing in its own short transaction, skipping rows locked right now.
    """
    changed = 0
    keys = list(
        ShopperStanding.objects.exclude(escalation_level=EscalationLevel.NONE)
        .order_by("pk")
        .values_list("pk", "identity_id", "currency", "escalation_level")[:limit]
    )
    for pk, identity_id, currency, level in keys:
        with transaction.atomic():
            if not standing_qs_for_update().select_for_update(skip_locked=True).filter(pk=pk):
                continue
            standing = standing_recalculate(
                identity_id=identity_id, currency=currency, actor="system:debt-sweep"
            )
        changed += standing.escalation_level != level
    return {"assessed": len(keys), "changed": changed}
