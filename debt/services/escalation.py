"""Escalation: from a shopper's debt figures and the policy, the level the gate should apply.

Ladder (highest matching rule wins):

- FRAUD_REVIEW: a fraud case is open or fraud was confirmed, or the pattern reached the fraud
  thresholds (that many debts in the pattern window, or that much owed) and a case is opened.
- EXTENDED_DENIAL (the gate adds ``NonpaymentHighRisk``): ``extended_min_trips`` unpaid trips
  (3, as Amazon), more owed than ``extended_min_amount`` (100.00, as Amazon), or
  ``velocity_min_debts`` debts within ``velocity_window_days``. It lasts ``extended_denial_days``
  after the condition ends, payment included.
- DENIAL: something unpaid and ``denial_min_trips`` unpaid trips, ``denial_min_amount`` owed, the
  oldest unpaid ``denial_min_age_days`` old, or a pattern.
- NOTICE: something unpaid, none of the above (a first, small, recent failure).
- RAISED_PREAUTH: nothing unpaid, but a pattern within the window: the gate lets the shopper in
  with a higher pre-auth.
- NONE: nothing unpaid and no pattern: a one-time failure paid promptly leaves no mark.

A *pattern* is ``pattern_min_debts`` debts in ``pattern_window_days``, or any debt in that window
that was not paid within ``prompt_payment_days`` (still unpaid after it, paid later, or written
off). "Owed" counts open, disputed and written-off amounts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction

from core.alerts import alert_raise
from core.audit import audit_record
from core.clock import now as business_now

from ..enums import EscalationLevel as L
from ..enums import FraudCaseStatus
from ..models import DebtPolicy, EscalationChange, FraudReviewCase, ShopperStanding

ZERO = Decimal("0")


@dataclass(frozen=True)
class StandingFigures:
    unpaid_trips: int = 0
    outstanding: Decimal = ZERO
    written_off: Decimal = ZERO
    oldest_unpaid_at: datetime | None = None
    recent_debts: int = 0
    velocity_debts: int = 0
    late_or_unpaid_debts: int = 0
    fraud_case_active: bool = False
    # A case closed as "no fraud" within the pattern window: do not reopen on the same history.
    fraud_cleared_recently: bool = False

    @property
    def owed(self) -> Decimal:
        return self.outstanding + self.written_off


@dataclass(frozen=True)
class Assessment:
    level: str
    reasons: tuple[str, ...] = field(default_factory=tuple)
    denial_until: datetime | None = None
    open_fraud_case: bool = False

    @property
    def reason_text(self) -> str:
        return "; ".join(self.reasons)[:300]


def escalation_assess(
    *,
    figures: StandingFigures,
    policy: DebtPolicy,
    now: datetime,
    denial_until: datetime | None = None,
) -> Assessment:
    """Pure: the level for ``figures`` under ``policy`` at ``now``."""
    if figures.fraud_case_active:
        return Assessment(L.FRAUD_REVIEW, ("fraud case open or confirmed",), denial_until)
    fraud = []
    if not figures.fraud_cleared_recently:
        if policy.fraud_min_debts and figures.recent_debts >= policy.fraud_min_debts:
            fraud.append(f"{figures.recent_debts} debts in {policy.pattern_window_days} days")
        if policy.fraud_min_amount and figures.owed >= policy.fraud_min_amount:
            fraud.append(f"owes {figures.owed}")
    if fraud:
        return Assessment(L.FRAUD_REVIEW, tuple(fraud), denial_until, open_fraud_case=True)

    extended = []
    if figures.unpaid_trips >= policy.extended_min_trips:
        extended.append(f"{figures.unpaid_trips} unpaid trips")
    if figures.owed > policy.extended_min_amount:
        extended.append(f"owes {figures.owed} > {policy.extended_min_amount}")
    if figures.velocity_debts >= policy.velocity_min_debts:
        extended.append(f"{figures.velocity_debts} debts in {policy.velocity_window_days} days")
    if extended:
        until = now + timedelta(days=policy.extended_denial_days)
        return Assessment(L.EXTENDED_DENIAL, tuple(extended), max(until, denial_until or until))
    if denial_until is not None and denial_until > now:
        return Assessment(L.EXTENDED_DENIAL, ("extended denial period",), denial_until)

    pattern = []
    if figures.recent_debts >= policy.pattern_min_debts:
        pattern.append(f"{figures.recent_debts} debts in {policy.pattern_window_days} days")
    if figures.late_or_unpaid_debts:
        pattern.append(f"{figures.late_or_unpaid_debts} not paid promptly")

    if figures.unpaid_trips:
        denial = []
        if figures.unpaid_trips >= policy.denial_min_trips:
            denial.append(f"{figures.unpaid_trips} unpaid trips")
        if figures.owed >= policy.denial_min_amount:
            denial.append(f"owes {figures.owed}")
        if figures.oldest_unpaid_at is not None and now - figures.oldest_unpaid_at >= timedelta(
            days=policy.denial_min_age_days
        ):
            denial.append(f"unpaid for {(now - figures.oldest_unpaid_at).days} days")
        if denial or pattern:
            return Assessment(L.DENIAL, tuple(denial + pattern))
        return Assessment(L.NOTICE, ("unpaid balance",))
    if pattern:
        return Assessment(L.RAISED_PREAUTH, tuple(pattern))
    return Assessment(L.NONE)


def escalation_apply(
    *, standing: ShopperStanding, assessment: Assessment, actor: str
) -> ShopperStanding:
    """Set the assessed level on a locked standing (the caller saves it); record a change."""
    at = business_now()
    standing.escalation_reasons = assessment.reason_text
    standing.denial_until = assessment.denial_until
    if assessment.open_fraud_case:
        _fraud_case_open(standing=standing, reasons=assessment.reason_text, at=at)
    if standing.escalation_level == assessment.level:
        return standing
    EscalationChange.objects.create(
        identity_id=standing.identity_id,
        currency=standing.currency,
        from_level=standing.escalation_level,
        to_level=assessment.level,
        reasons=assessment.reason_text,
        actor=actor,
        business_time=at,
    )
    audit_record(
        entity="shopper_standing",
        entity_id=f"{standing.identity_id}:{standing.currency}",
        action="escalation",
        from_state=standing.escalation_level,
        to_state=assessment.level,
        actor=actor,
        reason=assessment.reason_text,
    )
    standing.escalation_level = assessment.level
    standing.escalated_at = at
    return standing


def _fraud_case_open(*, standing: ShopperStanding, reasons: str, at: datetime) -> None:
    try:
        with transaction.atomic():
            case = FraudReviewCase.objects.create(
                identity_id=standing.identity_id,
                currency=standing.currency,
                reasons=reasons,
                opened_at=at,
            )
    except IntegrityError:
        return  # a case is already open
    alert_raise(
        key=f"debt-fraud-case:{case.pk}",
        kind="debt_fraud_case",
        message=f"fraud review case {case.pk} opened for a repeat non-payer",
        context={"case": case.pk},
    )


def fraud_case_flags(*, identity_id: str, currency: str, cleared_since: datetime) -> tuple:
    """(a case is open or confirmed, a case was cleared since ``cleared_since``)."""
    statuses = set(
        FraudReviewCase.objects.filter(identity_id=identity_id, currency=currency)
        .exclude(status=FraudCaseStatus.CLEARED, closed_at__lt=cleared_since)
        .values_list("status", flat=True)
    )
    active = bool(statuses & {FraudCaseStatus.OPEN, FraudCaseStatus.CONFIRMED})
    return active, FraudCaseStatus.CLEARED in statuses
