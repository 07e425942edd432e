"""Escalation thresholds move a shopper through the levels; a one-time failure paid promptly is
told apart from a pattern. AE-7.15: 3+ unpaid trips or a balance above the threshold is
NonpaymentHighRisk (our EXTENDED_DENIAL)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from core import clock
from debt.enums import EscalationLevel as L
from debt.enums import FraudCaseStatus, PaymentMethod
from debt.models import DebtPolicy, EscalationChange, FraudReviewCase
from debt.selectors import shopper_standing
from debt.services.escalation import StandingFigures, escalation_assess
from debt.services.fraud import fraud_case_close
from debt.services.recovery import debt_payoff
from debt.services.standing import standing_sweep
from debt.tests.helpers import record_shortfall
from tests.factories import make_shopper

NOW = clock.wall_now()
POLICY = DebtPolicy(currency="USD")


def _assess(**figures):
    return escalation_assess(figures=StandingFigures(**figures), policy=POLICY, now=NOW)


@pytest.mark.parametrize(
    ("figures", "level"),
    [
        ({}, L.NONE),
        ({"unpaid_trips": 1, "outstanding": Decimal("5"), "recent_debts": 1}, L.NOTICE),
        ({"unpaid_trips": 2, "outstanding": Decimal("10"), "recent_debts": 2}, L.DENIAL),
        ({"unpaid_trips": 1, "outstanding": Decimal("50.00"), "recent_debts": 1}, L.DENIAL),
        (
            {
                "unpaid_trips": 1,
                "outstanding": Decimal("5"),
                "recent_debts": 1,
                "oldest_unpaid_at": NOW - timedelta(days=14),
                "late_or_unpaid_debts": 1,
            },
            L.DENIAL,
        ),
        ({"unpaid_trips": 3, "outstanding": Decimal("30"), "recent_debts": 3}, L.EXTENDED_DENIAL),
        (
            {"unpaid_trips": 1, "outstanding": Decimal("100.01"), "recent_debts": 1},
            L.EXTENDED_DENIAL,
        ),
        ({"unpaid_trips": 1, "outstanding": Decimal("100.00"), "recent_debts": 1}, L.DENIAL),
        ({"recent_debts": 3, "velocity_debts": 3}, L.EXTENDED_DENIAL),
        ({"recent_debts": 2}, L.RAISED_PREAUTH),
        ({"recent_debts": 1, "late_or_unpaid_debts": 1}, L.RAISED_PREAUTH),
        ({"recent_debts": 1}, L.NONE),
        ({"recent_debts": 5, "velocity_debts": 1}, L.FRAUD_REVIEW),
        ({"written_off": Decimal("500.00")}, L.FRAUD_REVIEW),
        ({"fraud_case_active": True}, L.FRAUD_REVIEW),
        ({"recent_debts": 5, "fraud_cleared_recently": True}, L.RAISED_PREAUTH),
    ],
)
def test_level_for_figures(figures, level):
    """AE-7.15 (3 unpaid trips, balance above 100.00)."""
    assert _assess(**figures).level == level


def test_extended_denial_lasts_after_the_condition_ends():
    assessed = _assess(unpaid_trips=3, outstanding=Decimal("30"), recent_debts=3)
    later = escalation_assess(
        figures=StandingFigures(recent_debts=3),
        policy=POLICY,
        now=NOW + timedelta(days=1),
        denial_until=assessed.denial_until,
    )
    assert later.level == L.EXTENDED_DENIAL
    after = escalation_assess(
        figures=StandingFigures(recent_debts=1),
        policy=POLICY,
        now=assessed.denial_until + timedelta(seconds=1),
        denial_until=assessed.denial_until,
    )
    assert after.level == L.NONE


@pytest.mark.django_db
def test_three_unpaid_trips_are_nonpayment_high_risk():
    """AE-7.15"""
    shopper = make_shopper()
    levels = []
    for _ in range(3):
        debt = record_shortfall(total="5.00", shopper=shopper)
        levels.append(shopper_standing(identity_id=debt.shopper_identity_id, currency="USD"))
    assert [s.escalation_level for s in levels] == [L.NOTICE, L.DENIAL, L.EXTENDED_DENIAL]
    assert levels[-1].high_risk and levels[-1].blocks_entry
    assert list(
        EscalationChange.objects.filter(identity_id=shopper.identity_id).values_list(
            "from_level", "to_level"
        )
    ) == [(L.NONE, L.NOTICE), (L.NOTICE, L.DENIAL), (L.DENIAL, L.EXTENDED_DENIAL)]


@pytest.mark.django_db
def test_balance_above_the_threshold_is_nonpayment_high_risk():
    """AE-7.15"""
    debt = record_shortfall(total="100.01")
    standing = shopper_standing(identity_id=debt.shopper_identity_id, currency="USD")
    assert standing.escalation_level == L.EXTENDED_DENIAL


def _pay_all(debt, key):
    standing = shopper_standing(identity_id=debt.shopper_identity_id, currency="USD")
    debt_payoff(
        identity_id=debt.shopper_identity_id,
        currency="USD",
        amount=standing.outstanding_amount,
        method=PaymentMethod.STAFF_PHONE,
        idempotency_key=key,
        actor="user:1:clerk",
    )
    return shopper_standing(identity_id=debt.shopper_identity_id, currency="USD")


@pytest.mark.django_db
def test_one_time_failure_paid_promptly_leaves_no_mark():
    debt = record_shortfall(total="8.00")
    with clock.override(clock.wall_now() + timedelta(days=2)):
        standing = _pay_all(debt, "prompt")
    assert standing.escalation_level == L.NONE


@pytest.mark.django_db
def test_a_debt_paid_late_is_a_pattern_the_gate_sees_as_raised_preauth():
    debt = record_shortfall(total="8.00")
    with clock.override(clock.wall_now() + timedelta(days=10)):
        standing_sweep()
        assert (
            shopper_standing(identity_id=debt.shopper_identity_id, currency="USD").escalation_level
            == L.DENIAL
        )
        standing = _pay_all(debt, "late")
    assert standing.escalation_level == L.RAISED_PREAUTH
    assert not standing.blocks_entry
    # Once the pattern window has passed, the mark goes.
    with clock.override(clock.wall_now() + timedelta(days=120)):
        standing_sweep()
    standing.refresh_from_db()
    assert standing.escalation_level == L.NONE


@pytest.mark.django_db
def test_age_alone_moves_a_small_debt_to_denial():
    debt = record_shortfall(total="3.00")
    with clock.override(clock.wall_now() + timedelta(days=15)):
        result = standing_sweep()
    assert result["changed"] == 1
    standing = shopper_standing(identity_id=debt.shopper_identity_id, currency="USD")
    assert standing.escalation_level == L.DENIAL
    assert "unpaid for 15 days" in standing.escalation_reasons


@pytest.mark.django_db
def test_a_pattern_of_debts_opens_one_fraud_case_and_clearing_it_does_not_reopen_it():
    shopper = make_shopper()
    for _ in range(5):
        debt = record_shortfall(total="2.00", shopper=shopper)
    standing = shopper_standing(identity_id=shopper.identity_id, currency="USD")
    assert standing.escalation_level == L.FRAUD_REVIEW
    case = FraudReviewCase.objects.get(identity_id=shopper.identity_id)
    assert case.status == FraudCaseStatus.OPEN

    fraud_case_close(case_id=case.pk, confirmed=False, actor="user:3:investigator", note="ok")

    standing.refresh_from_db()
    assert standing.escalation_level == L.EXTENDED_DENIAL
    record_shortfall(total="1.00", shopper=shopper)
    assert FraudReviewCase.objects.filter(identity_id=shopper.identity_id).count() == 1
    assert debt.pk


@pytest.mark.django_db
def test_confirmed_fraud_keeps_the_shopper_out_after_payment():
    shopper = make_shopper()
    for _ in range(5):
        debt = record_shortfall(total="2.00", shopper=shopper)
    case = FraudReviewCase.objects.get(identity_id=shopper.identity_id)
    fraud_case_close(case_id=case.pk, confirmed=True, actor="user:3:investigator")
    standing = _pay_all(debt, "fraudster-pays")
    assert standing.escalation_level == L.FRAUD_REVIEW and standing.blocks_entry
