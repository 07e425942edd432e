# ruff: noqa: F811 - pytest fixtures imported from ordering.tests.fixtures
"""Create Purchases, group 3 of Amazon's test plan (400 with the field and the problem), through
the signed HTTP endpoint: CP-3.1 … CP-3.35. Every 400 stores nothing, so the same key later with
a valid cart is a new cart (contract §1.3)."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import AuditEntry, OutboxMessage
from ordering.models import CartSubmission, Purchase
from ordering.tests.fixtures import business_time, shop  # noqa: F401 - fixtures
from ordering.tests.payloads import PATH, auth_event, cart, item
from tests.signing import amazon_post, django_headers, signed_headers
from trips.models import Shopper, ShoppingTrip

pytestmark = pytest.mark.django_db

LONG = "x" * 256
DELETE = object()


def without(body: dict, *path: str) -> dict:
    target = body
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return body


def set_at(body: dict, path: tuple, value) -> dict:
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return body


def assert_400(response, *expected: tuple[str, str]):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["errorMsg"] == "BadRequestException"
    for field, problem in expected:
        assert {"field": field, "problem": problem} in body["details"], body["details"]


def assert_nothing_stored():
    assert not CartSubmission.objects.exists()
    assert not Purchase.objects.exists()
    assert not ShoppingTrip.objects.exists()
    assert not Shopper.objects.exists()
    assert not OutboxMessage.objects.exists()
    assert not AuditEntry.objects.filter(entity="trip").exists()


def valid() -> dict:
    return cart("STORE-001", [item("SKU-001", lineItemId="li-1")])


EVENT = ("shoppingTrip", "authEvents", 0)
ITEM = ("cartItems", 0)

CASES = [
    ("CP-3.1", lambda b: without(b, "requestId"), [("requestId", "MISSING")]),
    ("CP-3.2", lambda b: set_at(b, ("requestId",), "not-a-uuid"), [("requestId", "BAD_FORMAT")]),
    (
        "CP-3.3",
        lambda b: without(b, "idempotentShoppingTripId"),
        [("idempotentShoppingTripId", "MISSING")],
    ),
    ("CP-3.4", lambda b: without(b, "storeId"), [("storeId", "MISSING")]),
    ("CP-3.4-unknown", lambda b: set_at(b, ("storeId",), "STORE-999"), [("storeId", "UNKNOWN")]),
    ("CP-3.5", lambda b: set_at(b, ("storeId",), "S" * 256), [("storeId", "TOO_LONG")]),
    ("CP-3.6", lambda b: without(b, "shoppingTrip"), [("shoppingTrip", "MISSING")]),
    (
        "CP-3.7",
        lambda b: without(b, "shoppingTrip", "startTime"),
        [("shoppingTrip.startTime", "MISSING")],
    ),
    (
        "CP-3.8",
        lambda b: without(b, "shoppingTrip", "endTime"),
        [("shoppingTrip.endTime", "MISSING")],
    ),
    (
        "CP-3.9",
        lambda b: set_at(b, ("shoppingTrip", "startTime"), "2025/05/02 17:00"),
        [("shoppingTrip.startTime", "BAD_FORMAT")],
    ),
    (
        "CP-3.10",
        lambda b: set_at(b, ("shoppingTrip", "endTime"), "2025-05-02T16:00:00Z"),
        [("shoppingTrip.endTime", "INCONSISTENT")],
    ),
    (
        "CP-3.11",
        lambda b: without(b, "shoppingTrip", "authEvents"),
        [("shoppingTrip.authEvents", "MISSING")],
    ),
    (
        "CP-3.11-empty",
        lambda b: set_at(b, ("shoppingTrip", "authEvents"), []),
        [("shoppingTrip.authEvents", "EMPTY")],
    ),
    (
        "CP-3.12",
        lambda b: without(b, *EVENT, "id"),
        [("shoppingTrip.authEvents[0].id", "MISSING")],
    ),
    (
        "CP-3.13-number",
        lambda b: set_at(b, (*EVENT, "id"), 12345),
        [("shoppingTrip.authEvents[0].id", "WRONG_TYPE")],
    ),
    (
        "CP-3.13-empty",
        lambda b: set_at(b, (*EVENT, "id"), ""),
        [("shoppingTrip.authEvents[0].id", "EMPTY")],
    ),
    (
        "CP-3.13-whitespace",
        lambda b: set_at(b, (*EVENT, "id"), "   "),
        [("shoppingTrip.authEvents[0].id", "EMPTY")],
    ),
    (
        "CP-3.13-pattern",
        lambda b: set_at(b, (*EVENT, "id"), "ae#1"),
        [("shoppingTrip.authEvents[0].id", "BAD_FORMAT")],
    ),
    (
        "CP-3.14",
        lambda b: set_at(b, (*EVENT, "id"), "a" * 256),
        [("shoppingTrip.authEvents[0].id", "TOO_LONG")],
    ),
    (
        "CP-3.15",
        lambda b: without(b, *EVENT, "payloadType"),
        [("shoppingTrip.authEvents[0].payloadType", "MISSING")],
    ),
    (
        "CP-3.16",
        lambda b: set_at(b, (*EVENT, "payloadType"), "BIOMETRIC"),
        [("shoppingTrip.authEvents[0].payloadType", "NOT_ALLOWED")],
    ),
    (
        "CP-3.17",
        lambda b: set_at(b, (*EVENT, "location"), "EXIT"),
        [("shoppingTrip.authEvents[0].location", "NOT_ALLOWED")],
    ),
    ("CP-3.18", lambda b: without(b, "cartItems"), [("cartItems", "MISSING")]),
    ("CP-3.19", lambda b: without(b, *ITEM, "id"), [("cartItems[0].id", "MISSING")]),
    ("CP-3.20", lambda b: set_at(b, (*ITEM, "id"), LONG), [("cartItems[0].id", "TOO_LONG")]),
    ("CP-3.21", lambda b: without(b, *ITEM, "type"), [("cartItems[0].type", "MISSING")]),
    (
        "CP-3.22",
        lambda b: set_at(b, (*ITEM, "type"), "PLU"),
        [("cartItems[0].type", "NOT_ALLOWED")],
    ),
    ("CP-3.23", lambda b: without(b, *ITEM, "quantity"), [("cartItems[0].quantity", "MISSING")]),
    (
        "CP-3.24",
        lambda b: without(b, *ITEM, "quantity", "value"),
        [("cartItems[0].quantity.value", "MISSING")],
    ),
    (
        "CP-3.25",
        lambda b: set_at(b, (*ITEM, "quantity", "value"), "1.000000000"),
        [("cartItems[0].quantity.value", "TOO_LONG")],
    ),
    (
        "CP-3.26",
        lambda b: without(b, *ITEM, "quantity", "unit"),
        [("cartItems[0].quantity.unit", "MISSING")],
    ),
    (
        "CP-3.27",
        lambda b: set_at(b, (*ITEM, "externalIdentifiers"), [{"id": "1", "type": "EAN"}]),
        [("cartItems[0].externalIdentifiers[0].type", "NOT_ALLOWED")],
    ),
    (
        "CP-3.28",
        lambda b: set_at(b, (*ITEM, "externalIdentifiers"), [{"id": LONG, "type": "UPC"}]),
        [("cartItems[0].externalIdentifiers[0].id", "TOO_LONG")],
    ),
    (
        "CP-3.30",
        lambda b: set_at(b, (*EVENT, "scanResult"), {"id": LONG, "type": "SHOPPER"}),
        [("shoppingTrip.authEvents[0].scanResult.id", "TOO_LONG")],
    ),
    (
        "CP-3.31",
        lambda b: set_at(b, ("shopperIdentity",), {"id": LONG}),
        [("shopperIdentity.id", "TOO_LONG")],
    ),
    ("CP-3.32", lambda b: set_at(b, ("shopperDeviceId",), LONG), [("shopperDeviceId", "TOO_LONG")]),
    (
        "CP-3.33",
        lambda b: set_at(b, (*ITEM, "lineItemId"), LONG),
        [("cartItems[0].lineItemId", "TOO_LONG")],
    ),
    (
        "CP-3.34",
        lambda b: set_at(b, ("cartItems",), [item("SKU-001", lineItemId="li-1")] * 2),
        [("cartItems[1].lineItemId", "DUPLICATE")],
    ),
]


@pytest.mark.parametrize(("key", "change", "expected"), CASES, ids=[case[0] for case in CASES])
def test_invalid_field_is_400_with_field_and_problem_and_stores_nothing(
    amazon_client, shop, key, change, expected
):
    """CP-3.1 … CP-3.34 (CP-3.29 is a documented conflict: see test_create_purchases.py)."""
    response = amazon_client.post_signed(PATH, change(valid()))

    assert_400(response, *expected)
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("value", "problem"),
    [("0", "OUT_OF_RANGE"), ("1e3", "BAD_FORMAT"), ("-1", "BAD_FORMAT"), ("2.5", "INCONSISTENT")],
)
def test_quantity_values_outside_the_contract_are_400(amazon_client, shop, value, problem):
    """§1.1: ``^[0-9]+(\\.[0-9]+)?$``, > 0, whole when the unit is ``unit``."""
    response = amazon_client.post_signed(PATH, cart("STORE-001", [item("SKU-001", value)]))

    assert_400(response, ("cartItems[0].quantity.value", problem))


def test_quantity_value_as_a_json_number_is_wrong_type(amazon_client, shop):
    body = cart(
        "STORE-001", [{"id": "SKU-001", "type": "SKU", "quantity": {"value": 2, "unit": "unit"}}]
    )

    assert_400(amazon_client.post_signed(PATH, body), ("cartItems[0].quantity.value", "WRONG_TYPE"))


def test_quantity_unit_outside_the_enum_is_not_allowed(amazon_client, shop):
    response = amazon_client.post_signed(PATH, cart("STORE-001", [item("SKU-001", "1", "stone")]))

    assert_400(response, ("cartItems[0].quantity.unit", "NOT_ALLOWED"))


def test_iso_timestamps_with_plus_zero_offset_pass_cp_3_9(amazon_client, shop):
    """CP-3.9: ``Z`` and ``+00:00`` both pass."""
    body = cart("STORE-001", start="2025-05-02T17:00:00+00:00", end="2025-05-02T17:09:39.250Z")

    assert amazon_client.post_signed(PATH, body).status_code == 201


def test_duplicate_auth_event_ids_are_400(amazon_client, shop):
    body = cart("STORE-001", auth_events=[auth_event("ae-1"), auth_event("ae-1")])

    assert_400(
        amazon_client.post_signed(PATH, body), ("shoppingTrip.authEvents[1].id", "DUPLICATE")
    )


def test_every_problem_is_listed_at_once(amazon_client, shop):
    body = without(without(valid(), "requestId"), "cartItems")

    assert_400(
        amazon_client.post_signed(PATH, body), ("requestId", "MISSING"), ("cartItems", "MISSING")
    )


def test_empty_body_is_missing_cp_3_35(amazon_client, shop):
    """CP-3.35: an empty request → ``""`` MISSING."""
    headers = django_headers(signed_headers(PATH, b""))
    # The test client drops Content-Type with an empty body; send the signed one explicitly.
    headers["CONTENT_TYPE"] = headers.pop("content_type")

    assert_400(amazon_client.generic("POST", PATH, b"", **headers), ("", "MISSING"))
    assert_nothing_stored()


def test_non_json_body_is_bad_format_cp_3_35(amazon_client, shop):
    """CP-3.35: a non-JSON body → ``""`` BAD_FORMAT."""
    assert_400(amazon_client.post_signed(PATH, b"{not json"), ("", "BAD_FORMAT"))
    assert_400(amazon_client.post_signed(PATH, b"\xff\xfe"), ("", "BAD_FORMAT"))


def test_json_that_is_not_an_object_is_wrong_type(amazon_client, shop):
    assert_400(amazon_client.post_signed(PATH, b"[1, 2]"), ("", "WRONG_TYPE"))


def test_a_body_that_is_not_json_content_is_bad_format(amazon_client, shop):
    body = b"requestId=1"
    response = amazon_post(amazon_client, PATH, body, headers={"Content-Type": "text/plain"})

    assert_400(response, ("", "BAD_FORMAT"))


def test_a_400_stores_nothing_so_the_same_key_later_is_a_new_cart(amazon_client, shop):
    """§1.3: a later valid request with the same key is accepted as new."""
    body = valid()
    broken = dict(body, requestId="nope")

    assert amazon_client.post_signed(PATH, broken).status_code == 400
    response = amazon_client.post_signed(PATH, body)

    assert response.status_code == 201
    assert Purchase.objects.count() == 1


def test_unsigned_malformed_body_is_403_before_validation(client, shop):
    """§0.7: the signature check runs first, so an unsigned malformed body gets 403."""
    response = client.post(PATH, data=b"{not json", content_type="application/json")

    assert response.status_code == 403
    assert response.json() == {"errorMsg": "AccessDeniedException"}
    assert_nothing_stored()


def test_bad_signature_is_403_and_stores_nothing(amazon_client, shop):
    from jwo_client import wire
    from tests.signing import django_headers, signed_headers

    body = wire.dumps(valid())
    headers = signed_headers(PATH, body)
    tampered = body.replace(b"SKU-001", b"SKU-002")

    response = amazon_client.generic("POST", PATH, tampered, **django_headers(headers))

    assert response.status_code == 403
    assert_nothing_stored()


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3)
    | st.text(max_size=300),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=12), children, max_size=3)
    ),
    max_leaves=8,
)
PATHS = [
    ("requestId",),
    ("idempotentShoppingTripId",),
    ("storeId",),
    ("shoppingTrip",),
    ("shoppingTrip", "startTime"),
    ("shoppingTrip", "endTime"),
    ("shoppingTrip", "authEvents"),
    (*EVENT,),
    (*EVENT, "id"),
    (*EVENT, "timestamp"),
    (*EVENT, "location"),
    (*EVENT, "payloadType"),
    (*EVENT, "scanResult"),
    (*EVENT, "scanResult", "type"),
    ("cartItems",),
    (*ITEM,),
    (*ITEM, "id"),
    (*ITEM, "type"),
    (*ITEM, "quantity"),
    (*ITEM, "quantity", "value"),
    (*ITEM, "quantity", "unit"),
    (*ITEM, "externalIdentifiers"),
    (*ITEM, "lineItemId"),
    ("shopperIdentity",),
    ("shopperDeviceId",),
    ("paymentSource",),
]


def _child(node, key):
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and key < len(node):
        return node[key]
    return None


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.tuples(st.sampled_from(PATHS), JSON_VALUES | st.just(DELETE)), max_size=3))
def test_any_malformed_field_is_a_4xx_never_a_500(amazon_client, shop, mutations):
    """§0.4: whatever a field holds (any JSON type, any length, missing), the answer is 201 or a
    400 with field and problem, never a 500."""
    body = valid()
    for path, value in mutations:
        target = body
        for key in path[:-1]:
            target = _child(target, key)
        if isinstance(target, dict):
            if value is DELETE:
                target.pop(path[-1], None)
            else:
                target[path[-1]] = value
        elif (
            isinstance(target, list)
            and isinstance(path[-1], int)
            and path[-1] < len(target)
            and value is not DELETE
        ):
            target[path[-1]] = value

    response = amazon_client.post_signed(PATH, body)

    assert response.status_code in (201, 400, 409), response.content
    if response.status_code == 400:
        details = response.json()["details"]
        assert details and all(set(detail) == {"field", "problem"} for detail in details)
