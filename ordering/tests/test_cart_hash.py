"""The cart hash of contract §1.4, pinned: what is and is not part of "the same cart"."""

import hashlib
import json

from ordering.cart_hash import canonical_quantity, cart_hash
from ordering.tests.payloads import auth_event, cart, item
from ordering.validation import purchase_request_parse


def digest(body: dict) -> str:
    request = purchase_request_parse(body)
    assert not request.problems
    return cart_hash(
        store_id=request.store_id, items=request.items, auth_events=request.auth_events
    )


def test_quantities_lose_trailing_zeros_but_never_turn_into_exponents():
    assert [canonical_quantity(v) for v in ("2.0", "0.7420", "100", "007", "10.50")] == [
        "2",
        "0.742",
        "100",
        "7",
        "10.5",
    ]


def test_the_hash_is_sha256_of_the_canonical_document():
    body = cart(
        "STORE-001",
        [
            item("SKU-2", "2.0", lineItemId="b", externalIdentifiers=[{"id": "9", "type": "UPC"}]),
            item("SKU-1", lineItemId="a"),
        ],
        auth_events=[auth_event("ae-1", location=None, scanResult=None)],
    )
    expected_document = {
        "authEvents": [
            {"id": "ae-1", "payloadType": "FINANCIAL", "timestamp": "2025-05-02T17:00:00Z"}
        ],
        "cartItems": [
            {
                "id": "SKU-1",
                "lineItemId": "a",
                "quantity": {"unit": "unit", "value": "1"},
                "type": "SKU",
            },
            {
                "externalIdentifiers": [{"id": "9", "type": "UPC"}],
                "id": "SKU-2",
                "lineItemId": "b",
                "quantity": {"unit": "unit", "value": "2"},
                "type": "SKU",
            },
        ],
        "storeId": "STORE-001",
    }
    text = json.dumps(expected_document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    assert digest(body) == hashlib.sha256(text.encode()).hexdigest()


def test_request_id_times_and_shopper_are_not_part_of_the_cart():
    body = cart("STORE-001", [item("SKU-1")])
    other = dict(
        body, requestId="00000000-0000-4000-8000-000000000000", shopperIdentity={"id": "someone"}
    )
    other["shoppingTrip"] = dict(body["shoppingTrip"], endTime="2025-05-02T18:00:00Z")

    assert digest(other) == digest(body)


def test_non_ascii_is_kept_not_escaped():
    body = cart("STORE-001", [item("CAFÉ-☕")])
    request = purchase_request_parse(body)

    assert cart_hash(
        store_id="STORE-001", items=request.items, auth_events=request.auth_events
    ) != digest(cart("STORE-001", [item("CAFE")]))
