# ruff: noqa: F811 - pytest fixtures imported from ordering.tests.fixtures
"""Create Purchases, group 1 of Amazon's test plan (201 with a purchaseId), through the signed
HTTP endpoint: CP-1.1 … CP-1.15, plus what the retailer must do with each accepted cart."""

from decimal import Decimal

import pytest

from core.models import OutboxMessage
from ordering.enums import LineStatus, PurchaseStatus
from ordering.models import BadCartCase, CartSubmission, Purchase
from ordering.tests.fixtures import TRIP_END, business_time, shop  # noqa: F401 - fixtures
from ordering.tests.payloads import PATH, auth_event, cart, item
from trips.enums import TripState
from trips.models import ShoppingTrip, TripAuthEvent
from trips.services.handoff import START_CHARGE

pytestmark = pytest.mark.django_db


def post(amazon_client, body):
    return amazon_client.post_signed(PATH, body)


def trip_of(body) -> ShoppingTrip:
    return ShoppingTrip.objects.get(shopping_trip_id=body["idempotentShoppingTripId"])


def test_single_unit_item_is_priced_and_handed_to_payments_cp_1_1(amazon_client, shop):
    """CP-1.1: Amazon's sample, one SKU sold by unit, one FINANCIAL ENTRY event."""
    body = cart("STORE-001", [item("SKU-001", "1.0")])

    response = post(amazon_client, body)

    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    purchase = Purchase.objects.get()
    assert response.content == b'{"purchaseId":"%s"}' % purchase.purchase_id.encode()
    assert purchase.purchase_id.startswith("P-STORE-001-")
    assert purchase.status == PurchaseStatus.PRICED
    assert purchase.total == Decimal("3.49")
    trip = trip_of(body)
    assert trip.state == TripState.PRICED
    assert trip.cart_total == Decimal("3.49")
    handoff = OutboxMessage.objects.get(kind=START_CHARGE)
    assert handoff.payload == {"trip_pk": trip.pk}


def test_multi_item_cart_gets_one_purchase_with_every_line_cp_1_2(amazon_client, shop):
    """CP-1.2"""
    body = cart(
        "STORE-001",
        [item("SKU-001", "2", lineItemId="li-1"), item("SKU-002", "3", lineItemId="li-2")],
    )

    response = post(amazon_client, body)

    assert response.status_code == 201
    purchase = Purchase.objects.get()
    lines = list(purchase.lines.order_by("position"))
    assert [(line.item_id, line.quantity, line.total) for line in lines] == [
        ("SKU-001", Decimal("2"), Decimal("6.98")),
        ("SKU-002", Decimal("3"), Decimal("3.75")),
    ]
    assert purchase.total == Decimal("10.73") == trip_of(body).cart_total


@pytest.mark.parametrize(
    ("value", "unit", "amount"),
    [
        ("0.742", "kg", "2.22"),  # 2.21858
        ("742", "g", "2.22"),
        ("1.5", "lb", "2.03"),  # 0.680388555 kg -> 2.034361779...
        ("24", "oz", "2.03"),  # 24 oz = 1.5 lb
    ],
)
def test_weight_item_accepts_decimal_quantities_in_every_unit_cp_1_3(
    amazon_client, shop, value, unit, amount
):
    """CP-1.3: a decimal-string quantity in kg, g, lb or oz, converted to the price per kg."""
    body = cart("STORE-001", [item("SKU-BANANA", value, unit)])

    response = post(amazon_client, body)

    assert response.status_code == 201
    line = Purchase.objects.get().lines.get()
    assert line.quantity_value == value
    assert line.quantity_unit == unit
    assert line.unit_price == Decimal("2.99")
    assert line.sale_unit == "KG"
    assert line.total == Decimal(amount)


def test_scan_code_item_is_identified_by_its_code_cp_1_4(amazon_client, shop):
    """CP-1.4: a SCANCODE item's id is the scanned code."""
    body = cart("STORE-001", [{**item("0049000042566"), "type": "SCANCODE"}])

    response = post(amazon_client, body)

    assert response.status_code == 201
    line = Purchase.objects.get().lines.get()
    assert line.product.sku == "SKU-COLA"
    assert line.total == Decimal("1.99")


def test_unknown_scan_code_waits_in_the_bad_cart_queue_cp_1_4(amazon_client, shop):
    """CP-1.4: an unknown code still gets 201 and a non-empty purchaseId."""
    body = cart("STORE-001", [item("SKU-001"), {**item("0000000000000"), "type": "SCANCODE"}])

    response = post(amazon_client, body)

    assert response.status_code == 201
    purchase = Purchase.objects.get()
    assert response.json()["purchaseId"] == purchase.purchase_id != ""
    assert purchase.status == PurchaseStatus.IN_REVIEW
    assert trip_of(body).state == TripState.BAD_CART
    case = BadCartCase.objects.get()
    assert case.problem_lines == 1
    statuses = sorted(purchase.lines.values_list("status", flat=True))
    assert statuses == [LineStatus.PRICED, LineStatus.UNKNOWN_ITEM]
    assert not OutboxMessage.objects.filter(kind=START_CHARGE).exists()


def test_unknown_sku_gets_201_and_the_trip_waits_in_bad_cart(amazon_client, shop):
    body = cart("STORE-001", [item("SKU-NOPE")])

    response = post(amazon_client, body)

    assert response.status_code == 201
    assert response.json()["purchaseId"]
    assert trip_of(body).state == TripState.BAD_CART


def test_item_with_upc_external_identifier_is_accepted_cp_1_5(amazon_client, shop):
    """CP-1.5: {id, type: "UPC"} entries accepted; an unknown SKU falls back to its UPC."""
    body = cart(
        "STORE-001",
        [
            item("SKU-001", externalIdentifiers=[{"id": "012345678905", "type": "UPC"}]),
            item("SKU-RENAMED", externalIdentifiers=[{"id": "012345678905", "type": "UPC"}]),
        ],
    )

    response = post(amazon_client, body)

    assert response.status_code == 201
    lines = list(Purchase.objects.get().lines.order_by("position"))
    assert [line.product.sku for line in lines] == ["SKU-001", "SKU-001"]
    assert lines[0].external_ids == [{"id": "012345678905", "type": "UPC"}]


def test_line_item_id_is_kept_per_line_cp_1_6(amazon_client, shop):
    """CP-1.6"""
    body = cart(
        "STORE-001", [item("SKU-001", lineItemId="li-1"), item("SKU-002", lineItemId="li-2")]
    )

    post(amazon_client, body)

    lines = Purchase.objects.get().lines.order_by("position")
    assert [line.line_item_id for line in lines] == ["li-1", "li-2"]


def test_empty_cart_answers_an_empty_purchase_id_and_releases_the_preauth_cp_1_7(
    amazon_client, shop
):
    """CP-1.7: 201 {"purchaseId": ""}; the trip goes to payments as EMPTY (Cancel Charge)."""
    body = cart("STORE-001", [])

    response = post(amazon_client, body)

    assert response.status_code == 201
    assert response.content == b'{"purchaseId":""}'
    assert not Purchase.objects.exists()
    trip = trip_of(body)
    assert trip.state == TripState.EMPTY
    assert trip.cart_total == Decimal("0")
    assert OutboxMessage.objects.get(kind=START_CHARGE).payload == {"trip_pk": trip.pk}


def test_financial_entry_starts_the_settle_by_clock_cp_1_8(amazon_client, shop):
    """CP-1.8: with no known gate event, the earliest FINANCIAL event time is the pre-auth."""
    events = [
        auth_event("ae-2", timestamp="2025-05-02T17:01:00Z"),
        auth_event("ae-1", timestamp="2025-05-02T17:00:30Z"),
        auth_event("ae-0", timestamp="2025-05-02T16:59:00Z", payloadType="SCAN_CODE"),
    ]
    body = cart("STORE-001", [item("SKU-001")], auth_events=events)

    response = post(amazon_client, body)

    assert response.status_code == 201
    trip = trip_of(body)
    assert trip.preauth_at.isoformat() == "2025-05-02T17:00:30+00:00"
    assert trip.preauth_deadline.isoformat() == "2025-05-04T15:00:30+00:00"  # + 46 h
    assert trip.settle_by.isoformat() == "2025-05-04T11:00:30+00:00"  # - 4 h margin


def test_qr_code_entry_is_accepted_cp_1_9(amazon_client, shop):
    """CP-1.9: payloadType SCAN_CODE."""
    body = cart("STORE-001", auth_events=[auth_event(payloadType="SCAN_CODE")])

    assert post(amazon_client, body).status_code == 201
    assert trip_of(body).state == TripState.PRICED


@pytest.mark.parametrize(
    "scan_type",
    [
        pytest.param("ASSOCIATE", id="CP-1.10-associate"),
        pytest.param("CASH", id="CP-1.11-cash"),
        pytest.param("LOYALTY", id="CP-1.12-loyalty"),
        pytest.param("SHOPPER", id="shopper"),
    ],
)
def test_scan_result_types_are_accepted_cp_1_10_to_1_12(amazon_client, shop, scan_type):
    """CP-1.10 associate, CP-1.11 cash, CP-1.12 loyalty trips: 201 and the type is stored."""
    body = cart("STORE-001", auth_events=[auth_event(scanResult={"id": "s-1", "type": scan_type})])

    response = post(amazon_client, body)

    assert response.status_code == 201
    event = TripAuthEvent.objects.get()
    assert (event.scan_result_id, event.scan_result_type) == ("s-1", scan_type)


def test_unknown_scan_result_type_is_tolerated_and_stored_cp_3_29(amazon_client, shop):
    """CP-3.29 (**Conflict**, contract wins): the test plan lists a 400 for a scanResult.type
    outside the enum, but contract §0.10 fixes it as tolerated and stored, never a 400."""
    body = cart("STORE-001", auth_events=[auth_event(scanResult={"id": "s", "type": "MYSTERY"})])

    response = post(amazon_client, body)

    assert response.status_code == 201
    assert TripAuthEvent.objects.get().scan_result_type == "MYSTERY"
    assert CartSubmission.objects.get().auth_events[0]["scanResult"]["type"] == "MYSTERY"


def test_group_trip_is_one_purchase_linked_to_every_entry_cp_1_13(amazon_client, shop):
    """CP-1.13: several auth events, one purchase, all events stored with the trip."""
    events = [
        auth_event(f"ae-{n}", scanResult={"id": f"s-{n}", "type": "SHOPPER"}) for n in (1, 2, 3)
    ]
    body = cart("STORE-001", [item("SKU-001"), item("SKU-002")], auth_events=events)

    response = post(amazon_client, body)

    assert response.status_code == 201
    trip = trip_of(body)
    assert Purchase.objects.filter(trip=trip).count() == 1
    assert sorted(trip.auth_events.values_list("auth_event_id", flat=True)) == [
        "ae-1",
        "ae-2",
        "ae-3",
    ]


def test_manual_in_store_location_is_accepted_cp_1_14(amazon_client, shop):
    """CP-1.14"""
    body = cart("STORE-001", auth_events=[auth_event(location="MANUAL_IN_STORE")])

    assert post(amazon_client, body).status_code == 201
    assert TripAuthEvent.objects.get().location == "MANUAL_IN_STORE"


def test_optional_fields_may_all_be_absent_cp_1_15(amazon_client, shop):
    """CP-1.15: no location, scanResult, externalIdentifiers, lineItemId, shopperIdentity,
    shopperDeviceId or paymentSource."""
    event = {"id": "ae-1", "timestamp": "2025-05-02T17:00:00Z", "payloadType": "FINANCIAL"}
    body = cart("STORE-001", [item("SKU-001")], auth_events=[event], shopper_id=None)

    response = post(amazon_client, body)

    assert response.status_code == 201
    trip = trip_of(body)
    assert trip.state == TripState.PRICED
    assert trip.shopper is None


def test_unknown_fields_anywhere_are_ignored_even_numbers(amazon_client, shop):
    """§0.4: unknown fields are ignored in the body, the trip, auth events and items."""
    event = auth_event(simExtra={"score": 0.25, "n": 3})
    body = cart(
        "STORE-001",
        [item("SKU-001", extra=1.5, quantity={"value": "1", "unit": "unit", "x": 2})],
        auth_events=[event],
        simExtra={"price": 9.99},
    )
    body["shoppingTrip"]["simExtra"] = [1.0]

    response = post(amazon_client, body)

    assert response.status_code == 201
    assert CartSubmission.objects.get().auth_events == [
        {
            "id": "ae-1",
            "timestamp": "2025-05-02T17:00:00Z",
            "payloadType": "FINANCIAL",
            "location": "ENTRY",
            "scanResult": {"id": "shopper-001", "type": "SHOPPER"},
        }
    ]


def test_optional_fields_present_are_stored(amazon_client, shop):
    body = cart(
        "STORE-001",
        shopperDeviceId="dev-9",
        paymentSource={"id": "ps-1"},
        simExtra={"ignored": True},
    )

    assert post(amazon_client, body).status_code == 201
    submission = CartSubmission.objects.get()
    assert (submission.shopper_device_id, submission.payment_source_id) == ("dev-9", "ps-1")
    assert submission.shopper_identity_id == "shopper-001"
    assert trip_of(body).shopper.identity_id == "shopper-001"
    assert submission.end_time == TRIP_END


def test_cart_for_a_trip_created_at_the_gate_moves_that_trip(amazon_client, shop):
    from tests.factories import make_trip

    trip = make_trip(store=shop)
    body = cart("STORE-001", [item("SKU-001")], trip_id=trip.shopping_trip_id)

    assert post(amazon_client, body).status_code == 201
    trip.refresh_from_db()
    assert trip.state == TripState.PRICED
    assert trip.purchase.total == Decimal("3.49")


def test_cart_for_a_trip_that_cannot_take_one_is_stored_held_and_alerted(amazon_client, shop):
    from core.models import Alert
    from tests.factories import make_trip

    trip = make_trip(store=shop, state=TripState.DENIED)
    body = cart("STORE-001", [item("SKU-001")], trip_id=trip.shopping_trip_id)

    response = post(amazon_client, body)

    assert response.status_code == 201
    assert Purchase.objects.get().status == PurchaseStatus.HELD
    assert Alert.objects.get(kind="cart_trip_state").severity == "CRITICAL"
    assert not OutboxMessage.objects.filter(kind=START_CHARGE).exists()


def test_quantity_unit_that_does_not_fit_the_product_goes_to_review_not_400(amazon_client, shop):
    """Contract §0.10: a weight for a unit-priced item (or the reverse) is reviewed, never 400."""
    body = cart("STORE-001", [item("SKU-001", "0.5", "kg"), item("SKU-BANANA", "2", "unit")])

    response = post(amazon_client, body)

    assert response.status_code == 201
    statuses = set(Purchase.objects.get().lines.values_list("status", flat=True))
    assert statuses == {LineStatus.UNIT_MISMATCH}
    assert trip_of(body).state == TripState.BAD_CART


def test_store_without_any_price_version_holds_the_cart_for_review(
    amazon_client, db, business_time
):
    from catalog.tests.factories import product
    from tests.factories import make_store

    make_store(store_id="STORE-NEW")
    product("SKU-001")
    body = cart("STORE-NEW", [item("SKU-001")])

    assert post(amazon_client, body).status_code == 201
    assert Purchase.objects.get().lines.get().status == LineStatus.NO_PRICE
