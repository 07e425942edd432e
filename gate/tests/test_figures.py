"""Daily figures per store and the alert when the share of denials or high-risk shoppers jumps."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from core.models import Alert, AlertStatus
from gate.models import GateDailyFigures, GateDecision
from gate.services.figures import gate_figures_compute, gate_shift_check
from gate.tasks import figures_refresh, shift_check
from tests.factories import make_store

pytestmark = pytest.mark.django_db
_ids = itertools.count(1)
AT = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)


def decision(store, at, *, authorized=True, risks=(), override="NONE", source="POLICY", **extra):
    number = next(_ids)
    return GateDecision.objects.create(
        gate_event_id=f"gae-{number}",
        store=store,
        shopping_trip_id=f"trip-{number}",
        identity_digest="digest",
        decided_at=at,
        event_type="CREDIT_CARD",
        interaction_type="TAP",
        location="ENTRY",
        event_time=at,
        recommended_authorized=authorized,
        recommended_risks=list(risks),
        authorized_amount=Decimal("50.00"),
        currency="USD",
        balance_strategy="OWN_BOOKS",
        source=source,
        authorized=authorized,
        preauth_amount=Decimal("50.00") if authorized else None,
        response={"shopperAuthorized": authorized},
        override=override,
        latency_ms=extra.pop("latency_ms", 3.0),
        **extra,
    )


def test_daily_figures_count_rates_overrides_and_risks():
    store, other = make_store(), make_store()
    day = AT.date()
    decision(store, AT)
    decision(store, AT, override="AMOUNT")
    decision(store, AT, authorized=False, risks=["CustomerFraud", "BadDebt"])
    decision(store, AT, authorized=False, risks=["InvalidCard"], override="DENY")
    decision(store, AT, source="FALLBACK", unknown_values={"type": "X"}, latency_ms=40.0)
    decision(store, AT - timedelta(days=1))  # another day
    decision(other, AT)

    rows = {row.store_id: row for row in gate_figures_compute(day=day)}
    gate_figures_compute(day=day)  # recomputing changes nothing

    figures = GateDailyFigures.objects.get(store=store, day=day)
    assert figures.pk == rows[store.pk].pk
    assert (figures.decisions, figures.accepted, figures.denied) == (5, 3, 2)
    assert figures.accept_rate == 0.6 and figures.deny_rate == 0.4
    assert figures.amount_overrides == 1 and figures.amount_override_rate == 0.2
    assert (figures.deny_overrides, figures.allow_overrides) == (1, 0)
    assert figures.fallbacks == 1 and figures.unknown_values == 1
    assert figures.high_risk == 1
    assert figures.risk_counts == {"CustomerFraud": 1, "BadDebt": 1, "InvalidCard": 1}
    assert figures.p99_latency_ms == pytest.approx(38.52)
    assert GateDailyFigures.objects.get(store=other, day=day).decisions == 1


def test_figures_task_recomputes_today_and_yesterday(settings):
    store = make_store()
    now = datetime.now(UTC)
    decision(store, now)
    decision(store, now - timedelta(days=1))

    assert figures_refresh() == 2
    assert GateDailyFigures.objects.filter(store=store).count() == 2


def _week_of_normal_traffic(store):
    for hour in range(2, 170, 1):
        decision(store, AT - timedelta(hours=hour), authorized=hour % 10 != 0)  # 10% denials


def test_a_jump_in_denials_raises_an_alert_and_its_end_resolves_it():
    store = make_store()
    _week_of_normal_traffic(store)
    for minute in range(40):
        decision(store, AT - timedelta(minutes=minute + 1), authorized=minute % 2 == 0)  # 50%

    shifts = gate_shift_check(at=AT)

    assert [(shift.measure, round(shift.recent_share, 2)) for shift in shifts] == [("denials", 0.5)]
    alert = Alert.objects.get(key=f"gate.shift.denials:{store.store_id}")
    assert "50% of 40 decisions" in alert.message
    assert not Alert.objects.filter(key=f"gate.shift.high_risk:{store.store_id}").exists()
    # an hour later the window is back to normal
    for minute in range(40):
        decision(store, AT + timedelta(minutes=minute + 30))
    gate_shift_check(at=AT + timedelta(minutes=75))
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED


def test_a_jump_in_high_risk_shoppers_raises_an_alert():
    store = make_store()
    _week_of_normal_traffic(store)
    for minute in range(30):
        risks = ["CustomerFraud"] if minute % 3 == 0 else []
        decision(store, AT - timedelta(minutes=minute + 1), risks=risks)

    shifts = gate_shift_check(at=AT)

    assert [shift.measure for shift in shifts] == ["high_risk"]
    assert Alert.objects.filter(key=f"gate.shift.high_risk:{store.store_id}").exists()


def test_no_alert_without_enough_decisions():
    store = make_store()
    _week_of_normal_traffic(store)
    for minute in range(5):
        decision(store, AT - timedelta(minutes=minute + 1), authorized=False)

    assert gate_shift_check(at=AT) == []
    assert shift_check() == 0
