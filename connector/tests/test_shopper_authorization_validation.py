"""Shopper Authorization: bad input (400 with details) and authentication (403 first)."""

import copy
from datetime import timedelta
from decimal import Decimal

import pytest

from core import clock
from gate.models import GateDecision
from gate.tests.conftest import fresh_gate_cache  # noqa: F401 - autouse fixture
from gate.tests.factories import PATH, gate_payload
from jwo_client import wire
from jwo_client.sigv4 import Credentials
from tests.signing import django_headers
from trips.models import GateEvent, ShoppingTrip

pytestmark = pytest.mark.django_db

EVENT = "shopperInteraction.gateAuthenticationEvent"
REQUIRED = [
    ("storeId",),
    ("shopperIdentity", "id"),
    ("authorizedAmount", "value"),
    ("authorizedAmount", "currencyCode"),
    ("shopperInteraction", "shoppingTripId"),
    ("shopperInteraction", "gateAuthenticationEvent", "id"),
    ("shopperInteraction", "gateAuthenticationEvent", "type"),
    ("shopperInteraction", "gateAuthenticationEvent", "interactionType"),
    ("shopperInteraction", "gateAuthenticationEvent", "timestamp"),
    ("shopperInteraction", "gateAuthenticationEvent", "location"),
    ("shopperInteraction", "recommendation", "shopperAuthorized"),
]


def post(client, payload, **sign):
    response = client.post_signed(PATH, payload, **sign)
    return response.status_code, (wire.loads(response.content) if response.content else None)


def without(payload, path):
    payload = copy.deepcopy(payload)
    node = payload
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return payload


def nothing_written():
    return not (
        GateDecision.objects.exists() or GateEvent.objects.exists() or ShoppingTrip.objects.exists()
    )


@pytest.mark.parametrize("path", REQUIRED, ids=[".".join(p) for p in REQUIRED])
def test_missing_required_field_is_a_400_with_details(amazon_client, store, path):
    """CC-7a.12: missing required fields → 400 BadRequestException with details → MISSING."""
    status, body = post(amazon_client, without(gate_payload(store), path))

    assert status == 400
    assert body["errorMsg"] == "BadRequestException"
    assert {"field": ".".join(path), "problem": "MISSING"} in body["details"]
    assert nothing_written()


def test_missing_parent_object_reports_its_required_fields(amazon_client, store):
    """CC-7a.12: no recommendation object at all → its required field is reported MISSING."""
    payload = without(gate_payload(store), ("shopperInteraction", "recommendation"))

    status, body = post(amazon_client, payload)

    assert status == 400
    assert body["details"] == [
        {"field": "shopperInteraction.recommendation.shopperAuthorized", "problem": "MISSING"}
    ]


def test_empty_body_is_a_400_missing(client, store):
    """CC-7a.12: an empty body → 400 with {"field": "", "problem": "MISSING"}."""
    headers = _signed(b"")
    # The test client drops CONTENT_TYPE for an empty body; a real client sends the signed one.
    response = client.generic(
        "POST", PATH, b"", CONTENT_TYPE="application/json", **django_headers(headers)
    )

    assert response.status_code == 400
    assert wire.loads(response.content)["details"] == [{"field": "", "problem": "MISSING"}]


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [
        (lambda p: p.update(storeId=""), "storeId", "EMPTY"),
        (lambda p: p.update(storeId="   "), "storeId", "EMPTY"),
        (lambda p: p.update(storeId=7), "storeId", "WRONG_TYPE"),
        (lambda p: p["shopperIdentity"].update(id="x" * 256), "shopperIdentity.id", "TOO_LONG"),
        (
            lambda p: p["authorizedAmount"].update(value="50.00"),
            "authorizedAmount.value",
            "WRONG_TYPE",
        ),
        (
            lambda p: p["authorizedAmount"].update(value=Decimal("50.001")),
            "authorizedAmount.value",
            "BAD_FORMAT",
        ),
        (
            lambda p: p["authorizedAmount"].update(value=Decimal("-1")),
            "authorizedAmount.value",
            "OUT_OF_RANGE",
        ),
        (
            lambda p: p["authorizedAmount"].update(currencyCode="usd"),
            "authorizedAmount.currencyCode",
            "BAD_FORMAT",
        ),
        (
            lambda p: p["authorizedAmount"].update(currencyCode="EUR"),
            "authorizedAmount.currencyCode",
            "NOT_ALLOWED",
        ),
        (
            lambda p: p["shopperInteraction"].update(shoppingTripId="not/a/trip"),
            "shopperInteraction.shoppingTripId",
            "BAD_FORMAT",
        ),
        (
            lambda p: p["shopperInteraction"]["gateAuthenticationEvent"].update(
                timestamp="2026-05-02 17:00"
            ),
            f"{EVENT}.timestamp",
            "BAD_FORMAT",
        ),
        (
            lambda p: p["shopperInteraction"]["gateAuthenticationEvent"].update(data=["G2"]),
            f"{EVENT}.data",
            "WRONG_TYPE",
        ),
        (
            lambda p: p["shopperInteraction"]["recommendation"].update(shopperAuthorized="yes"),
            "shopperInteraction.recommendation.shopperAuthorized",
            "WRONG_TYPE",
        ),
        (
            lambda p: p["shopperInteraction"]["recommendation"].update(shopperRisks="BadDebt"),
            "shopperInteraction.recommendation.shopperRisks",
            "WRONG_TYPE",
        ),
        (
            lambda p: p["shopperInteraction"]["recommendation"].update(
                authorizationConditions=[
                    {"type": "ADJUST", "amount": {"value": 0, "currencyCode": "USD"}}
                ]
            ),
            "shopperInteraction.recommendation.authorizationConditions[0].amount.value",
            "OUT_OF_RANGE",
        ),
        (
            lambda p: p["shopperInteraction"].update(cartHint={"totalPrice": "12.00"}),
            "shopperInteraction.cartHint.totalPrice",
            "WRONG_TYPE",
        ),
        (lambda p: p.update(shopperInteraction=[]), "shopperInteraction", "WRONG_TYPE"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_malformed_field_is_a_400_naming_the_field_and_problem(
    amazon_client, store, mutate, field, problem
):
    """CC-7a.12 and contract §0.4: each bad field gives 400 with its path and problem code."""
    payload = gate_payload(store)
    mutate(payload)

    status, body = post(amazon_client, payload)

    assert status == 400
    assert {"field": field, "problem": problem} in body["details"]
    assert nothing_written()


def test_unknown_store_is_a_400_unknown(amazon_client, store):
    """CC-7a.13: an unknown storeId → 400 with details storeId → UNKNOWN."""
    payload = gate_payload(store)
    payload["storeId"] = "NO-SUCH-STORE"

    status, body = post(amazon_client, payload)

    assert status == 400
    assert body == {
        "errorMsg": "BadRequestException",
        "details": [{"field": "storeId", "problem": "UNKNOWN"}],
    }


def test_badly_formatted_store_id_is_a_400_bad_format(amazon_client, store):
    """CC-7a.13: a storeId outside ^[0-9a-zA-Z_-]+$ → 400 BAD_FORMAT."""
    payload = gate_payload(store)
    payload["storeId"] = "STORE 001!"

    status, body = post(amazon_client, payload)

    assert status == 400
    assert {"field": "storeId", "problem": "BAD_FORMAT"} in body["details"]


def test_unknown_fields_and_condition_types_are_ignored(amazon_client, store):
    """Contract §0.4: unknown fields are ignored; an unknown condition type is tolerated."""
    payload = gate_payload(store)
    payload["simExtra"] = {"anything": [1, 2]}
    payload["shopperInteraction"]["recommendation"]["authorizationConditions"] = [
        {"type": "REQUIRE_PIN"}
    ]

    status, body = post(amazon_client, payload)

    assert status == 200
    assert body == {"shopperAuthorized": True}
    assert GateDecision.objects.get().unknown_values == {"conditionTypes": ["REQUIRE_PIN"]}


def _raw_post(client, body: bytes, headers: dict):
    kwargs = django_headers(headers)
    kwargs.setdefault("content_type", "application/json")
    return client.generic("POST", PATH, body, **kwargs)


def _signed(body: bytes, **kwargs) -> dict:
    from tests.signing import signed_headers

    return signed_headers(PATH, body, **kwargs)


def test_unsigned_request_is_a_403_before_validation(client, store):
    """VAL-CONN-001: no signature → 403 AccessDeniedException, even for a malformed body."""
    response = client.generic("POST", PATH, b"{not json", content_type="application/json")

    assert response.status_code == 403
    assert wire.loads(response.content) == {"errorMsg": "AccessDeniedException"}


def test_bad_signature_is_a_403_before_validation_and_writes_nothing(client, store):
    """VAL-CONN-001: a tampered body (signature no longer matches) → 403 before any check."""
    body = wire.dumps(gate_payload(store))
    headers = _signed(body)

    response = _raw_post(client, body.replace(b"CREDIT_CARD", b"QR"), headers)

    assert response.status_code == 403
    assert wire.loads(response.content) == {"errorMsg": "AccessDeniedException"}
    assert nothing_written()


def test_unknown_access_key_is_a_403(client, store):
    """VAL-CONN-001: a key id not in JWO_INBOUND_KEYS → 403."""
    from jwo_client.sigv4 import sign_request

    body = wire.dumps(gate_payload(store))
    headers = sign_request(
        method="POST",
        url=f"http://testserver{PATH}",
        body=body,
        credentials=Credentials("AKIDSTRANGER", "whatever"),
        region="us-east-1",
    )

    response = _raw_post(client, body, headers)

    assert response.status_code == 403
    assert nothing_written()


def test_wrong_region_scope_is_a_403(client, store):
    """VAL-CONN-001: a credential scope for another region → 403."""
    from jwo_client.sigv4 import sign_request
    from tests.signing import amazon_credentials

    body = wire.dumps(gate_payload(store))
    headers = sign_request(
        method="POST",
        url=f"http://testserver{PATH}",
        body=body,
        credentials=amazon_credentials(),
        region="eu-west-1",
    )

    assert _raw_post(client, body, headers).status_code == 403


@pytest.mark.parametrize("skew", [timedelta(seconds=-301), timedelta(seconds=301)])
def test_stale_or_future_signature_is_a_403(client, store, skew):
    """VAL-CONN-001: clock skew over 300 s → 403, whatever the body."""
    body = wire.dumps(gate_payload(store))
    headers = _signed(body, now=clock.wall_now() + skew)

    response = _raw_post(client, body, headers)

    assert response.status_code == 403
    assert nothing_written()


def test_signed_request_within_skew_is_answered(client, store):
    """VAL-CONN-001: a valid signature 4 minutes old is accepted and answered 200."""
    body = wire.dumps(gate_payload(store))
    headers = _signed(body, now=clock.wall_now() - timedelta(seconds=240))

    response = _raw_post(client, body, headers)

    assert response.status_code == 200
    assert wire.loads(response.content) == {"shopperAuthorized": True}


def test_an_unexpected_fault_is_a_500_internal_server_exception(amazon_client, store, monkeypatch):
    """CC-7a.15 (retailer side): a fault we did not foresee answers 500
    {"errorMsg": "InternalServerException"} (Amazon then applies its recommendation); no
    internals leak into the body."""
    import gate.services.decisions as decisions

    def broken_engine(policy, inputs):
        raise RuntimeError("bug in a rule")

    monkeypatch.setattr(decisions, "evaluate", broken_engine)

    status, body = post(amazon_client, gate_payload(store))

    assert status == 500
    assert body == {"errorMsg": "InternalServerException"}
