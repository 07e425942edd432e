"""Report Payment Status (§4), the balance book and the gate recommendation (§8.5)."""

from __future__ import annotations

from .helpers import D, body_of, error_of, new_trip, report

T0 = 1746206123000


def _status(response):
    return body_of(response)["status"]


def test_full_settlement_is_accepted_and_clears_fb_tc001_cc_7b_1(sim):
    """FB-TC001 / CC-7b.1 / CONN-FB: Accepted; outstanding 0; next recommendation authorizes."""
    trip = new_trip(sim)
    assert _status(report(sim, trip, "23.47", "0.00", T0)) == "Accepted"
    assert sim.balances("shopper-001") == [{"code": "USD", "amount": D("23.47"), "trips": 1}]
    assert _status(report(sim, trip, "23.47", "23.47", T0 + 1000)) == "Accepted"
    assert sim.balances("shopper-001") == []
    assert sim.gate("STORE-001", "shopper-001")["recommendation"]["shopperAuthorized"] is True


def test_older_or_conflicting_report_is_rejected_fb_tc002(sim):
    """FB-TC002: older time, or same time with another body → Rejected and ignored."""
    trip = new_trip(sim)
    assert _status(report(sim, trip, "20.00", "20.00", T0)) == "Accepted"
    assert _status(report(sim, trip, "20.00", "0.00", T0 - 1)) == "Rejected"
    assert _status(report(sim, trip, "20.00", "0.00", T0)) == "Rejected"
    assert sim.balances("shopper-001") == []


def test_replay_same_time_same_body_is_accepted_cc_7b_6(sim):
    """CC-7b.6: a retried report (same time, same body) is Accepted, counted once."""
    trip = new_trip(sim)
    assert _status(report(sim, trip, "20.00", "5.00", T0)) == "Accepted"
    assert _status(report(sim, trip, "20.00", "5.00", T0)) == "Accepted"
    assert sim.balances("shopper-001") == [{"code": "USD", "amount": D("15.00"), "trips": 1}]


def test_partial_settlement_leaves_a_balance_fb_tc003_cc_7b_2(sim):
    """FB-TC003 / CC-7b.2: outstanding = total − settled; next recommendation BadDebt."""
    trip = new_trip(sim)
    assert _status(report(sim, trip, "23.47", "15.00", T0)) == "Accepted"
    assert sim.balances("shopper-001")[0]["amount"] == D("8.47")
    advice = sim.gate("STORE-001", "shopper-001")["recommendation"]
    assert advice == {"shopperAuthorized": False, "shopperRisks": ["BadDebt"]}


def test_zero_amounts_are_accepted_fb_tc004(sim):
    """FB-TC004: 0/0 (empty cart) and total/0 are valid."""
    trip = new_trip(sim)
    assert _status(report(sim, trip, "0", "0", T0)) == "Accepted"
    assert _status(report(sim, trip, "10.00", "0.00", T0 + 1)) == "Accepted"


def test_other_currencies_against_their_stores_fb_tc005_fb_tc008(sim):
    """FB-TC005 / FB-TC008: each currency against a store configured in it; JPY whole."""
    for code, total, settled in (
        ("EUR", "10.00", "10.00"),
        ("GBP", "7.50", "7.50"),
        ("CAD", "3.10", "3.10"),
        ("JPY", "1500", "1500"),
    ):
        store = f"STORE-{code}"
        sim.set_store(store, currency=code, preauthAmount=5000 if code == "JPY" else D("50.00"))
        trip = new_trip(sim, store=store)
        assert _status(report(sim, trip, total, settled, T0, store=store, code=code)) == (
            "Accepted"
        )
        wrong = report(sim, trip, total, settled, T0 + 1, store=store, code="USD")
        assert error_of(wrong) == "BadRequestException"


def test_valid_store_id_formats_fb_tc006_and_trip_ids_fb_tc007(sim):
    """FB-TC006 / FB-TC007: store123, STORE_456, store-789 with issued UUID trips → 200."""
    for store in ("store123", "STORE_456", "store-789"):
        sim.set_store(store)
        trip = new_trip(sim, store=store)
        assert _status(report(sim, trip, "1.00", "1.00", T0, store=store)) == "Accepted"


def test_decimal_precision_fb_tc009(sim):
    """FB-TC009: 15.90 passes; 15.999 is 400."""
    trip = new_trip(sim)
    assert _status(report(sim, trip, "15.90", "15.90", T0)) == "Accepted"
    assert error_of(report(sim, trip, "15.999", "0", T0 + 1)) == "BadRequestException"


def test_unknown_trip_cc_7b_4(sim):
    """CC-7b.4: 400 UnknownShoppingTrip."""
    response = report(sim, "0f1c7a52-9a2b-4c55-8d0e-5a2b3c4d5e6f", "1.00", "1.00", T0)
    assert error_of(response) == "UnknownShoppingTrip"


def test_declined_adjust_bad_debt_blocks_next_entry_ae_7_13_cc_7a_11(sim, retailer):
    """AE-7.13 / CC-7a.11: total/0 after a declined adjust → next recommendation BadDebt; a
    retailer that also denies closes the gate."""
    trip = new_trip(sim)
    report(sim, trip, "42.00", "0.00", T0)

    def deny(request):
        return 200, {
            "shopperAuthorized": False,
            "shopperRisks": ["BadDebt"],
            "reason": "OUTSTANDING_BALANCE",
        }

    retailer.fa = deny
    answer = sim.gate("STORE-001", "shopper-001")
    assert answer["recommendation"]["shopperRisks"] == ["BadDebt"]
    assert (answer["shopperAuthorized"], answer["gateOpen"]) == (False, False)
    assert answer["decisionSource"] == "RETAILER"


def test_three_outstanding_trips_add_nonpayment_high_risk_ae_7_15_cc_7b_3(sim, retailer):
    """AE-7.15 / CC-7b.3: 3+ outstanding trips → NonpaymentHighRisk."""
    retailer.fa = lambda request: (200, {"shopperAuthorized": True})
    for index in range(3):
        trip = new_trip(sim)
        report(sim, trip, "1.00", "0.00", T0 + index)
        risks = sim.gate("STORE-001", "shopper-001")["recommendation"]["shopperRisks"]
        expected = ["BadDebt", "NonpaymentHighRisk"] if index == 2 else ["BadDebt"]
        assert risks == expected


def test_balance_over_threshold_adds_nonpayment_high_risk_ae_7_15(sim, retailer):
    retailer.fa = lambda request: (200, {"shopperAuthorized": True})
    trip = new_trip(sim)
    report(sim, trip, "100.00", "0.00", T0)
    assert sim.gate("STORE-001", "shopper-001")["recommendation"]["shopperRisks"] == ["BadDebt"]
    other = new_trip(sim, "shopper-009")
    report(sim, other, "100.01", "0.00", T0)
    assert sim.gate("STORE-001", "shopper-009")["recommendation"]["shopperRisks"] == [
        "BadDebt",
        "NonpaymentHighRisk",
    ]


def test_jpy_threshold_default_is_10000(sim):
    sim.set_store("STORE-JP", currency="JPY", preauthAmount=5000)
    trip = new_trip(sim, "jp", store="STORE-JP")
    report(sim, trip, "10001", "0", T0, store="STORE-JP", code="JPY")
    assert "NonpaymentHighRisk" in sim.gate("STORE-JP", "jp")["recommendation"]["shopperRisks"]


def test_reports_for_expired_trips_are_accepted(sim):
    trip = new_trip(sim)
    sim.advance(46 * 3600)
    assert _status(report(sim, trip, "9.00", "0.00", T0)) == "Accepted"
