"""Daily gate figures per store, and an alert when denials or high-risk shoppers jump.

Both read the decision log only. Figures are recomputed (idempotently) for today and yesterday
by a beat task; the shift check compares the last hour with the week before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Aggregate, Count, FloatField, Q

from core.alerts import alert_raise, alert_resolve
from core.clock import now as business_now

from ..enums import HIGH_RISKS, DecisionSource, OverrideKind, ShopperRisk
from ..models import GateDailyFigures, GateDecision


class Percentile(Aggregate):
    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: str, **extra):
        # Written into the SQL text: a decimal literal between 0 and 1, checked here.
        value = Decimal(fraction)
        if not 0 <= value <= 1:
            raise ValueError(f"percentile fraction out of range: {fraction}")
        super().__init__(expression, fraction=str(value), **extra)


HIGH_RISK = Q(recommended_risks__overlap=sorted(HIGH_RISKS))


def _figures(queryset) -> dict:
    aggregates = {
        "decisions": Count("id"),
        "accepted": Count("id", filter=Q(authorized=True)),
        "denied": Count("id", filter=Q(authorized=False)),
        "amount_overrides": Count("id", filter=Q(override=OverrideKind.AMOUNT)),
        "allow_overrides": Count("id", filter=Q(override=OverrideKind.ALLOW)),
        "deny_overrides": Count("id", filter=Q(override=OverrideKind.DENY)),
        "fallbacks": Count("id", filter=Q(source=DecisionSource.FALLBACK)),
        "high_risk": Count("id", filter=HIGH_RISK),
        "unknown_values": Count("id", filter=~Q(unknown_values={})),
        "p99_latency_ms": Percentile("latency_ms", "0.99"),
    }
    for risk in ShopperRisk.values:
        aggregates[f"risk_{risk}"] = Count("id", filter=Q(recommended_risks__contains=[risk]))
    return queryset.aggregate(**aggregates)


def gate_figures_compute(*, day: date) -> list[GateDailyFigures]:
    """Recompute one UTC day's figures for every store that decided something that day."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    decisions = GateDecision.objects.filter(
        decided_at__gte=start, decided_at__lt=start + timedelta(1)
    )
    store_ids = decisions.values_list("store_id", flat=True).distinct()
    rows = []
    for store_id in store_ids:
        figures = _figures(decisions.filter(store_id=store_id))
        risk_counts = {}
        for risk in ShopperRisk.values:
            count = figures.pop(f"risk_{risk}")
            if count:
                risk_counts[risk] = count
        row, _created = GateDailyFigures.objects.update_or_create(
            store_id=store_id,
            day=day,
            defaults={**figures, "risk_counts": risk_counts, "computed_at": business_now()},
        )
        rows.append(row)
    return rows


def gate_figures_refresh() -> int:
    """Today's and yesterday's figures (yesterday may have gained late decisions)."""
    today = business_now().astimezone(UTC).date()
    return len(gate_figures_compute(day=today)) + len(
        gate_figures_compute(day=today - timedelta(1))
    )


@dataclass(frozen=True)
class Shift:
    store_id: str
    measure: str  # "denials" or "high_risk"
    recent_share: float
    baseline_share: float
    recent_decisions: int

    @property
    def alert_key(self) -> str:
        return f"gate.shift.{self.measure}:{self.store_id}"


def _setting(name: str, default):
    return getattr(settings, name, default)


def gate_shift_check(*, at: datetime | None = None) -> list[Shift]:
    """Alert when a store's share of denials or of high-risk shoppers over the last window jumps
    above the week before it; resolve the alert when it is back to normal. Returns the jumps."""
    at = at or business_now()
    window = timedelta(minutes=_setting("GATE_SHIFT_WINDOW_MINUTES", 60))
    baseline_days = _setting("GATE_SHIFT_BASELINE_DAYS", 7)
    min_recent = _setting("GATE_SHIFT_MIN_DECISIONS", 30)
    min_baseline = _setting("GATE_SHIFT_MIN_BASELINE", 100)
    jump = _setting("GATE_SHIFT_JUMP", 0.15)
    ratio = _setting("GATE_SHIFT_RATIO", 1.5)
    recent = Q(decided_at__gte=at - window, decided_at__lt=at)
    baseline = Q(
        decided_at__gte=at - window - timedelta(days=baseline_days), decided_at__lt=at - window
    )
    per_store = (
        GateDecision.objects.filter(decided_at__gte=at - window - timedelta(days=baseline_days))
        .values("store__store_id")
        .annotate(
            recent=Count("id", filter=recent),
            recent_denied=Count("id", filter=recent & Q(authorized=False)),
            recent_high=Count("id", filter=recent & HIGH_RISK),
            base=Count("id", filter=baseline),
            base_denied=Count("id", filter=baseline & Q(authorized=False)),
            base_high=Count("id", filter=baseline & HIGH_RISK),
        )
    )
    shifts = []
    for row in per_store:
        store_id = row["store__store_id"]
        for measure, recent_count, base_count in (
            ("denials", row["recent_denied"], row["base_denied"]),
            ("high_risk", row["recent_high"], row["base_high"]),
        ):
            if row["recent"] < min_recent or row["base"] < min_baseline:
                continue
            shift = Shift(
                store_id=store_id,
                measure=measure,
                recent_share=recent_count / row["recent"],
                baseline_share=base_count / row["base"],
                recent_decisions=row["recent"],
            )
            jumped = (
                shift.recent_share - shift.baseline_share >= jump
                and shift.recent_share >= ratio * shift.baseline_share
            )
            if jumped:
                shifts.append(shift)
                _raise(shift, window)
            else:
                alert_resolve(key=shift.alert_key)
    return shifts


def _raise(shift: Shift, window: timedelta) -> None:
    what = "denials" if shift.measure == "denials" else "high-risk shoppers"
    minutes = int(window.total_seconds() // 60)
    alert_raise(
        key=shift.alert_key,
        kind="gate.shift",
        message=(
            f"Gate at store {shift.store_id}: {what} at {shift.recent_share:.0%} of "
            f"{shift.recent_decisions} decisions in the last {minutes} min, against "
            f"{shift.baseline_share:.0%} before"
        ),
        context={
            "store_id": shift.store_id,
            "measure": shift.measure,
            "recent_share": round(shift.recent_share, 4),
            "baseline_share": round(shift.baseline_share, 4),
        },
    )
