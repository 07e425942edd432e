"""Field checks of every Payment Service path: 400 BadRequestException before the trip lookup
(contract §0.4–§0.6, §0.8). One row per Amazon test-plan case; the key is in the test id."""

from __future__ import annotations

import copy

import pytest

from .helpers import D, body_of, error_of

TRIP = "7b0f9c1e-2d3a-4b5c-9e8f-1a2b3c4d5e6f"  # well formed, unknown
RID = "550e8400-e29b-41d4-a716-446655440000"
LONG = "a" * 256

BASE = {
    "/v1/adjust/charge": {
        "storeId": "STORE-001",
        "shoppingTripId": TRIP,
        "amount": {"amount": D("15.99"), "code": "USD"},
    },
    "/v1/cancel/charge": {"storeId": "STORE-001", "shoppingTripId": TRIP},
    "/v1/capture/charge": {
        "storeId": "STORE-001",
        "shoppingTripId": TRIP,
        "amount": {"amount": D("25.99"), "code": "USD"},
    },
    "/v1/refund": {
        "storeId": "STORE-001",
        "shoppingTripId": TRIP,
        "amount": {"amount": D("25.99"), "code": "USD"},
        "refundRequestId": RID,
        "refundReasonCode": "DAMAGED_ITEM",
    },
    "/v1/payment/transactional-data": {"storeId": "STORE-001", "shoppingTripId": TRIP},
    "/v1/identity/shopper": {"storeId": "STORE-001", "shopperId": {"id": "shopper-001"}},
    "/v1/feedback/payment-status": {
        "storeId": "STORE-001",
        "shoppingTripId": TRIP,
        "totalAmount": {"amount": D("23.47"), "code": "USD"},
        "settledAmount": {"amount": D("15.00"), "code": "USD"},
        "paymentStatusTime": 1746206123000,
    },
}
ADJ, CAN, CAP, RFD = ("/v1/adjust/charge", "/v1/cancel/charge", "/v1/capture/charge", "/v1/refund")
TXD, SID, FB = (
    "/v1/payment/transactional-data",
    "/v1/identity/shopper",
    "/v1/feedback/payment-status",
)
DROP = object()


def _set(body: dict, dotted: str, value) -> dict:
    body = copy.deepcopy(body)
    *parents, last = dotted.split(".")
    target = body
    for part in parents:
        target = target[part]
    if value is DROP:
        target.pop(last, None)
    else:
        target[last] = value
    return body


# (case key, path, field, value)
CASES = [
    # Adjust Charge
    ("ADJ-5", ADJ, "storeId", "INVALID@STORE#ID"),
    ("ADJ-5-unknown-store", ADJ, "storeId", "STORE-404"),
    ("ADJ-6-storeId", ADJ, "storeId", DROP),
    ("ADJ-6-shoppingTripId", ADJ, "shoppingTripId", DROP),
    ("ADJ-6-amount", ADJ, "amount", DROP),
    ("ADJ-6-amount.amount", ADJ, "amount.amount", DROP),
    ("ADJ-6-amount.code", ADJ, "amount.code", DROP),
    ("ADJ-7-string-amount", ADJ, "amount.amount", "15.99"),
    ("ADJ-7-storeId-number", ADJ, "storeId", 12345),
    ("ADJ-7-trip-bool", ADJ, "shoppingTripId", True),
    ("ADJ-7-amount-bool", ADJ, "amount.amount", True),
    ("ADJ-7-amount-object", ADJ, "amount", "15.99 USD"),
    ("ADJ-8-lowercase", ADJ, "amount.code", "usd"),
    ("ADJ-8-unsupported", ADJ, "amount.code", "XXX"),
    ("ADJ-8-not-store-currency", ADJ, "amount.code", "EUR"),
    ("ADJ-12", ADJ, "storeId", "STORE 001"),
    ("ADJ-13", ADJ, "shoppingTripId", "not/a-trip"),
    ("ADJ-14-trip", ADJ, "shoppingTripId", LONG),
    ("ADJ-14-store", ADJ, "storeId", LONG),
    ("ADJ-zero", ADJ, "amount.amount", 0),
    ("ADJ-negative", ADJ, "amount.amount", D("-1.00")),
    ("CC-7c.1-three-decimals", ADJ, "amount.amount", D("2.219")),
    ("ADJ-ten-integer-digits", ADJ, "amount.amount", D("1000000000.00")),
    # Cancel Charge
    ("CAN-3", CAN, "storeId", "INVALID@STORE#ID"),
    ("CAN-4", CAN, "storeId", DROP),
    ("CAN-5", CAN, "shoppingTripId", DROP),
    ("CAN-6-store", CAN, "storeId", 12345),
    ("CAN-6-trip", CAN, "shoppingTripId", True),
    ("CAN-7", CAN, "storeId", "STORE#1"),
    ("CAN-8", CAN, "shoppingTripId", "trip id with spaces"),
    ("CAN-9", CAN, "shoppingTripId", LONG),
    ("CAN-13-store", CAN, "storeId", ""),
    ("CAN-13-trip", CAN, "shoppingTripId", ""),
    ("CAN-14-store", CAN, "storeId", None),
    ("CAN-14-trip", CAN, "shoppingTripId", None),
    ("CAN-15-store", CAN, "storeId", "   "),
    ("CAN-15-trip", CAN, "shoppingTripId", " \t "),
    # Capture Charge
    ("CAP-3", CAP, "storeId", "INVALID@STORE#ID"),
    ("CAP-4", CAP, "storeId", DROP),
    ("CAP-5", CAP, "shoppingTripId", DROP),
    ("CAP-6", CAP, "amount", DROP),
    ("CAP-7", CAP, "amount.amount", "25.99"),
    ("CAP-8", CAP, "amount.code", "U$D"),
    ("CAP-9", CAP, "amount.code", "USDD"),
    ("CAP-10", CAP, "storeId", "STORE.001"),
    ("CAP-11", CAP, "shoppingTripId", "trip#1"),
    ("CAP-12", CAP, "shoppingTripId", LONG),
    ("CAP-16", CAP, "amount.amount", 0),
    ("CAP-17", CAP, "amount.amount", D("-25.99")),
    ("CAP-18-store", CAP, "storeId", ""),
    ("CAP-18-trip", CAP, "shoppingTripId", ""),
    ("CAP-19-store", CAP, "storeId", None),
    ("CAP-19-amount", CAP, "amount", None),
    # Refund
    ("RFD-3", RFD, "storeId", "INVALID@STORE#ID"),
    ("RFD-4-storeId", RFD, "storeId", DROP),
    ("RFD-4-shoppingTripId", RFD, "shoppingTripId", DROP),
    ("RFD-4-amount", RFD, "amount", DROP),
    ("RFD-4-refundRequestId", RFD, "refundRequestId", DROP),
    ("RFD-4-refundReasonCode", RFD, "refundReasonCode", DROP),
    ("RFD-5", RFD, "amount.amount", "25.99"),
    ("RFD-6", RFD, "amount.code", "US"),
    ("RFD-7-uppercase", RFD, "refundRequestId", RID.upper()),
    ("RFD-7-not-uuid", RFD, "refundRequestId", "refund-1"),
    ("RFD-7-number", RFD, "refundRequestId", 12345),
    ("RFD-8", RFD, "refundReasonCode", "CHANGED_MIND"),
    ("RFD-9", RFD, "storeId", "STORE@1"),
    ("RFD-10", RFD, "shoppingTripId", "bad trip"),
    ("RFD-11-trip", RFD, "shoppingTripId", LONG),
    ("RFD-11-refund-id", RFD, "refundRequestId", RID + "0"),
    ("RFD-zero", RFD, "amount.amount", 0),
    # Get Transactional Data
    ("TXD-3", TXD, "storeId", "INVALID@STORE#ID"),
    ("TXD-4", TXD, "storeId", DROP),
    ("TXD-5", TXD, "shoppingTripId", DROP),
    ("TXD-6-store", TXD, "storeId", 12345),
    ("TXD-6-trip", TXD, "shoppingTripId", True),
    ("TXD-7", TXD, "storeId", "STORE 1"),
    ("TXD-8", TXD, "shoppingTripId", "trip*1"),
    ("TXD-9", TXD, "shoppingTripId", LONG),
    # Get Shopper Identity
    ("SID-2", SID, "storeId", "INVALID@STORE#ID"),
    ("SID-3", SID, "storeId", DROP),
    ("SID-4", SID, "shopperId", DROP),
    ("SID-5", SID, "shopperId.id", DROP),
    ("SID-6-store", SID, "storeId", 12345),
    ("SID-6-shopper", SID, "shopperId.id", True),
    ("SID-6-shopper-object", SID, "shopperId", "shopper-001"),
    ("SID-7", SID, "storeId", "STORE/1"),
    ("SID-8", SID, "shopperId.id", "pat@example.com"),
    ("SID-9", SID, "storeId", LONG),
    ("SID-10", SID, "shopperId.id", LONG),
    ("SID-14-store", SID, "storeId", ""),
    ("SID-14-shopper", SID, "shopperId.id", ""),
    ("SID-15-store", SID, "storeId", None),
    ("SID-15-shopper", SID, "shopperId.id", None),
    ("SID-16-store", SID, "storeId", "  "),
    ("SID-16-shopper", SID, "shopperId.id", "   "),
    # Report Payment Status
    ("FB-TC011", FB, "storeId", DROP),
    ("FB-TC012", FB, "shoppingTripId", DROP),
    ("FB-TC013", FB, "totalAmount", DROP),
    ("FB-TC014", FB, "settledAmount", DROP),
    ("CC-7b.5-time", FB, "paymentStatusTime", DROP),
    ("CC-7b.5-wrong-type", FB, "paymentStatusTime", "1746206123000"),
    ("CC-7b.5-bool-time", FB, "paymentStatusTime", True),
    ("CC-7b.5-seconds", FB, "paymentStatusTime", 1746206123),
    ("CC-7b.5-far-future", FB, "paymentStatusTime", 4102444800000),
    ("CC-7b.5-settled-over-total", FB, "settledAmount.amount", D("30.00")),
    ("CC-7b.5-mixed-currencies", FB, "settledAmount.code", "EUR"),
    ("CC-7b.5-negative-total", FB, "totalAmount.amount", D("-1.00")),
    ("FB-TC009-precision", FB, "totalAmount.amount", D("15.999")),
    ("FB-TC010-256", FB, "storeId", LONG),
]


@pytest.mark.parametrize(("case", "path", "field", "value"), CASES, ids=[c[0] for c in CASES])
def test_field_rule_gives_bad_request(sim, case, path, field, value):
    response = sim.call(path, _set(BASE[path], field, value))
    assert response.status_code == 400, (case, response.text)
    assert error_of(response) == "BadRequestException"


@pytest.mark.parametrize("path", list(BASE))
def test_non_json_content_type_is_bad_request(sim, path):
    """§0.10: a request whose Content-Type is not JSON → 400 BadRequestException."""
    response = sim.call(path, BASE[path], headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert error_of(response) == "BadRequestException"


@pytest.mark.parametrize("raw", [b"", b"{not json", b"[1,2]", b'"text"', b"\xff\xfe"])
def test_malformed_bodies_are_bad_request_never_500(sim, raw):
    response = sim.call(ADJ, None, raw=raw)
    assert response.status_code == 400
    assert error_of(response) == "BadRequestException"


def test_charset_in_content_type_is_accepted(sim):
    response = sim.call(CAN, BASE[CAN], headers={"Content-Type": "application/json; charset=utf-8"})
    assert error_of(response) == "UnknownShoppingTrip"


def test_details_name_the_field(sim):
    response = sim.call(ADJ, _set(BASE[ADJ], "amount.amount", "15.99"))
    assert {"field": "amount.amount", "problem": "WRONG_TYPE"} in body_of(response)["details"]


@pytest.mark.parametrize("path", [ADJ, CAN, CAP, TXD, FB])
def test_well_formed_unknown_trip_is_unknown_shopping_trip(sim, path):
    """ADJ-4 / CAN-2 / CAP-2 / TXD-2 / CC-7b.4: fields pass, the trip lookup fails."""
    response = sim.call(path, BASE[path])
    assert response.status_code == 400
    assert error_of(response) == "UnknownShoppingTrip"


def test_refund_unknown_trip_rfd_2(sim):
    """RFD-2 / AE-7.10: unknown trip → UnknownShoppingTrip."""
    assert error_of(sim.call(RFD, BASE[RFD])) == "UnknownShoppingTrip"


def test_255_char_trip_passes_the_format_check_fb_tc010(sim):
    """FB-TC010 / ADJ-14: 255 chars pass the field check; the trip is unknown."""
    response = sim.call(FB, _set(BASE[FB], "shoppingTripId", "a" * 255))
    assert error_of(response) == "UnknownShoppingTrip"


def test_255_char_store_id_of_a_configured_store_passes_fb_tc010(sim):
    store = "s" * 255
    sim.set_store(store)
    response = sim.call(SID, _set(BASE[SID], "storeId", store))
    assert response.status_code == 200
