"""Contract rows found wrong or unchecked in the second review of the simulator, one test each,
named by contract section (§2.2, §1.6, §6, §7, §8.1, §8.4)."""

from __future__ import annotations

import csv
import io
import pathlib
import uuid

import pytest

from .helpers import D, adjust, capture, error_of, new_trip, refund, refund_body

CART = [{"id": "SKU-001", "type": "SKU", "quantity": {"value": "1", "unit": "unit"}}]


# §2.2 / §2.3: what a valid Shopper Authorization answer is ------------------------------------
def test_deny_with_malformed_conditions_is_still_the_retailers_deny_2_2(sim, retailer):
    """§2.2: ``authorizationConditions`` are "ignored when shopperAuthorized is false", so a deny
    carrying junk conditions is a valid deny (RETAILER), not a broken answer (FALLBACK)."""
    for junk in ({"type": "ADJUST"}, "nope", [{"type": "ADJUST"}, {"type": "ADJUST"}]):
        retailer.fa = lambda request, j=junk: (
            200,
            {"shopperAuthorized": False, "authorizationConditions": j},
        )
        answer = sim.gate("STORE-001", "shopper-001")
        assert (answer["decisionSource"], answer["gateOpen"]) == ("RETAILER", False), junk


@pytest.mark.parametrize(
    "extra",
    [
        {"shopperRisks": "BadDebt"},
        {"shopperRisks": [1, 2]},
        {"reason": 42},
        {"reason": "r" * 256},
        {"authorizationConditions": {"type": "ADJUST"}},
    ],
    ids=["risks-not-a-list", "risks-not-strings", "reason-not-a-string", "reason-256", "cond-obj"],
)
def test_answer_breaking_2_2_field_rules_falls_back_2_3(sim, retailer, extra):
    """§2.2 fixes ``shopperRisks`` (string list), ``reason`` (≤255 chars of text) and
    ``authorizationConditions`` (an array); a 200 breaking them → Amazon's recommendation,
    source FALLBACK (§2.3)."""
    retailer.fa = lambda request: (200, {"shopperAuthorized": True, **extra})
    sim.set_shopper("risky", recommendationRisks=["CustomerFraud"])
    answer = sim.gate("STORE-001", "risky")
    assert (answer["decisionSource"], answer["gateOpen"]) == ("FALLBACK", False)


def test_answer_with_valid_optional_fields_is_the_retailers_2_2(sim, retailer):
    retailer.fa = lambda request: (
        200,
        {"shopperAuthorized": True, "shopperRisks": ["Whatever"], "reason": "r" * 255},
    )
    assert sim.gate("STORE-001", "shopper-001")["decisionSource"] == "RETAILER"


# §1.6: which Create Purchases answers are retried ----------------------------------------------
@pytest.mark.parametrize("status", [401, 404, 405, 413, 422])
def test_other_4xx_are_not_retried_1_6(sim, retailer, status):
    """§1.6: only 429, 5xx, timeouts and connection errors are retried; any other 4xx is a
    final rejection like 400/403/409 (``ORDER_REJECTED``, re-drivable), never a retry storm."""
    retailer.order = lambda request: (status, {"errorMsg": "x"})
    trip = new_trip(sim)
    assert sim.exit(trip, CART)["orderStatus"] == "ORDER_REJECTED"
    sim.advance(600)
    assert len(retailer.order_requests) == 1


def test_429_from_the_retailer_is_retried_after_retry_after_1_6(sim, retailer):
    answers = [(429, {"errorMsg": "TooManyRequestsException"})]
    retailer.order = lambda request: answers.pop(0) if answers else (201, {"purchaseId": "P-1"})
    trip = new_trip(sim)
    assert sim.exit(trip, CART)["orderStatus"] == "RETRYING"
    sim.advance(2)
    assert sim.trip(trip)["order"]["status"] == "DELIVERED"


def test_a_cart_with_junk_lines_is_delivered_and_recorded_1_6(sim, retailer):
    """The simulator must be able to send malformed carts (retailers rehearse their 400s with
    it); whatever the retailer answers is recorded, never a 500 in the simulator."""
    retailer.order = lambda request: (201, {"purchaseId": "P-JUNK"})
    trip = new_trip(sim)
    answer = sim.exit(trip, ["junk", 7, None, {"id": "SKU-1", "quantity": "2"}, CART[0]])
    assert (answer["httpStatus"], answer["orderStatus"]) == (201, "DELIVERED")
    assert sim.flush_csv()  # the CSV cut copes with the junk lines too


# §6: RFC 4180 quoting -----------------------------------------------------------------------------
def test_csv_quotes_commas_quotes_and_line_breaks_rfc_4180_6(sim, retailer):
    """§6: RFC 4180 quoting with ``\\n`` line endings: a field holding a comma, a quote, CR or LF
    comes back intact through a standard CSV reader."""
    odd = 'SKU,"odd"\r\nline\rtwo'
    trip = new_trip(sim)
    sim.exit(trip, [{"id": odd, "type": "SCANCODE", "quantity": {"value": "1", "unit": "unit"}}])
    [path] = sim.flush_csv()
    text = pathlib.Path(path).read_bytes().decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [row["item_id"] for row in rows if row["record_type"] == "CART_LINE"] == [odd]


# §7: an EXPIRED trip answers ShoppingTripExpiredException to every §3 call ------------------------
def test_refund_on_an_expired_trip_is_expired_even_with_a_reused_id_7(sim):
    """§7, row ``EXPIRED | any §3 call``: the expiry answer comes before the refund-id reuse rule
    (check order §0.8: lookup → expiry → state rules)."""
    captured = new_trip(sim)
    adjust(sim, captured, "5.00")
    capture(sim, captured, "5.00")
    refund_id = str(uuid.uuid4())
    assert refund(sim, captured, "1.00", refund_id).status_code == 200
    expired = new_trip(sim)
    sim.advance(46 * 3600)
    assert sim.trip(expired)["state"] == "EXPIRED"
    body = refund_body(expired, "1.00", refund_id)
    assert error_of(sim.call("/v1/refund", body)) == "ShoppingTripExpiredException"


# §8.1: store configuration ------------------------------------------------------------------------
def test_store_config_rejects_unknown_keys_8_1(sim):
    """§8.1 lists the keys; a misspelt one (``preAuthAmount``) is refused with the allowed keys
    named, instead of silently leaving the default in force during a rehearsal."""
    answer = sim.control("PUT", "/stores/STORE-001", {"preAuthAmount": 30}, check=False)
    assert "preAuthAmount" in answer["error"] and "preauthAmount" in answer["error"]
    assert sim.control("GET", "/stores/STORE-001")["preauthAmount"] == D("50.00")


@pytest.mark.parametrize(
    "config",
    [
        {"preauthAmount": D("50.001")},
        {"preauthAmount": "50.00"},
        {"csvIntervalMinutes": 0},
        {"preauthWindowHours": -1},
        {"refundWindowDays": True},
        {"faMode": "SOMETHING"},
        {"retailerBaseUrl": 5},
        {"reducedPreauth": {"s": D("0")}},
    ],
)
def test_store_config_values_are_checked_8_1(sim, config):
    assert "error" in sim.control("PUT", "/stores/STORE-001", config, check=False)


def test_store_defaults_8_1(sim):
    """§8.1 defaults: pre-auth 50.00 USD, 46 h, 30 days, AMAZON_RECOMMENDATION, 100.00 (JPY
    10000), no async delay, CSV every 15 simulated minutes."""
    config = sim.set_store("FRESH-STORE")
    expected = {
        "preauthAmount": D("50.00"),
        "currency": "USD",
        "preauthWindowHours": 46,
        "refundWindowDays": 30,
        "faMode": "AMAZON_RECOMMENDATION",
        "highRiskThreshold": D("100.00"),
        "asyncDelaySeconds": 0,
        "csvIntervalMinutes": 15,
    }
    assert {key: config[key] for key in expected} == expected
    assert sim.set_store("FRESH-JPY", currency="JPY")["highRiskThreshold"] == 10000


# §8.4: 429 lockouts ------------------------------------------------------------------------------
def test_scripted_429_with_its_own_retry_after_locks_for_that_long_8_4(sim):
    """§8.4 strict429: a scripted 429 with ``retryAfter: 120`` answers ``Retry-After: 120`` and
    locks the path for 120 s of business time; early calls get the remaining seconds."""
    trip = new_trip(sim)
    sim.faults(
        strict429=True,
        script=[{"path": "/v1/adjust/charge", "status": 429, "retryAfter": 120}],
    )
    first = adjust(sim, trip, "5.00")
    assert (first.status_code, first.headers["Retry-After"]) == (429, "120")
    sim.advance(20)
    early = adjust(sim, trip, "5.00")
    assert (early.status_code, early.headers["Retry-After"]) == (429, "100")
    sim.advance(100)
    assert adjust(sim, trip, "5.00").status_code == 200


def test_an_early_call_does_not_extend_the_lockout_8_4(sim):
    trip = new_trip(sim)
    sim.faults(strict429=True, script=[{"path": "/v1/adjust/charge", "status": 429}])
    assert adjust(sim, trip, "5.00").status_code == 429
    for _ in range(3):
        assert adjust(sim, trip, "5.00").headers["Retry-After"] == "600"
    sim.advance(600)
    assert adjust(sim, trip, "5.00").status_code == 200


@pytest.mark.parametrize("retry_after", ["soon", -5, 0, True, D("1.5")])
def test_bad_scripted_retry_after_is_refused_8_4(sim, retry_after):
    script = [{"path": "/v1/adjust/charge", "status": 429, "retryAfter": retry_after}]
    assert "error" in sim.control("PUT", "/faults", {"script": script}, check=False)
