# ruff: noqa: F811 - pytest fixtures imported from ordering.tests.fixtures
"""CP-2, idempotency of Create Purchases (contract §1.4): the key is (storeId,
idempotentShoppingTripId); the same cart gets the first 201 body byte for byte, a different cart
gets 409 and changes nothing, concurrent duplicates make one purchase and equal answers."""

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from core.models import Alert, AuditEntry, OutboxMessage
from ordering.models import CartSubmission, LineDiscount, Purchase, PurchaseLine
from ordering.tests.fixtures import NOW, business_time, publish_at, shop  # noqa: F401 - fixtures
from ordering.tests.payloads import PATH, auth_event, cart, item
from tests.signing import amazon_post
from trips.enums import TripState
from trips.models import ShoppingTrip, TripAuthEvent

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    return {
        "submissions": list(CartSubmission.objects.values()),
        "purchases": list(Purchase.objects.values()),
        "lines": list(PurchaseLine.objects.values()),
        "discounts": list(LineDiscount.objects.values()),
        "trips": list(ShoppingTrip.objects.values()),
        "events": list(TripAuthEvent.objects.values()),
        "outbox": list(OutboxMessage.objects.values()),
        "audit": AuditEntry.objects.count(),
    }


def test_replay_with_a_new_request_id_returns_the_first_body_byte_for_byte_cp_2(
    amazon_client, shop
):
    """CP-2: same key, same cart, whatever the requestId: the first 201 body, no new purchase."""
    body = cart("STORE-001", [item("SKU-001", "2", lineItemId="li-1")])
    first = amazon_client.post_signed(PATH, body)
    before = snapshot()

    second = amazon_client.post_signed(
        PATH, dict(body, requestId="6f1c7a52-9a2b-4c55-8d0e-5a2b3c4d5e6f")
    )

    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert snapshot() == before


def test_replay_after_prices_changed_still_returns_the_stored_answer_cp_2(amazon_client, shop):
    """The replay is a lookup, not a re-price: a new version changes nothing for this cart."""
    body = cart("STORE-001", [item("SKU-001")])
    first = amazon_client.post_signed(PATH, body)
    publish_at(shop, at=NOW, prices={"SKU-001": Decimal("9.99")}, reason="price rise")

    second = amazon_client.post_signed(PATH, body)

    assert second.content == first.content
    assert Purchase.objects.get().total == Decimal("3.49")


def test_replay_of_an_empty_cart_returns_the_empty_purchase_id(amazon_client, shop):
    body = cart("STORE-001", [])
    amazon_client.post_signed(PATH, body)

    again = amazon_client.post_signed(PATH, body)

    assert (again.status_code, again.content) == (201, b'{"purchaseId":""}')
    assert OutboxMessage.objects.count() == 1


def test_the_same_cart_written_differently_is_a_replay_cp_2(amazon_client, shop):
    """§1.4: quantities without trailing zeros, items and events in any order, identifiers
    sorted, unknown fields ignored, all hash alike."""
    items = [
        item(
            "SKU-001",
            "2.0",
            externalIdentifiers=[{"id": "2", "type": "UPC"}, {"id": "1", "type": "UPC"}],
        ),
        item("SKU-002", "1"),
    ]
    events = [auth_event("ae-1"), auth_event("ae-2")]
    body = cart("STORE-001", items, auth_events=events)
    first = amazon_client.post_signed(PATH, body)
    reordered = dict(
        body,
        cartItems=[
            {**item("SKU-002", "1.000"), "simExtra": {"x": 1}},
            item(
                "SKU-001",
                "2",
                externalIdentifiers=[{"id": "1", "type": "UPC"}, {"id": "2", "type": "UPC"}],
            ),
        ],
        shoppingTrip=dict(body["shoppingTrip"], authEvents=events[::-1]),
    )

    second = amazon_client.post_signed(PATH, reordered)

    assert second.status_code == 201
    assert second.content == first.content
    assert Purchase.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda b: b["cartItems"].append(item("SKU-002")), id="extra item"),
        pytest.param(lambda b: b["cartItems"][0]["quantity"].update(value="3"), id="quantity"),
        pytest.param(
            lambda b: b["shoppingTrip"]["authEvents"].append(auth_event("ae-9")), id="auth event"
        ),
        pytest.param(lambda b: b.update(cartItems=[]), id="emptied"),
    ],
)
def test_same_key_different_cart_is_409_and_changes_nothing_cp_2(amazon_client, shop, change):
    """CP-2: 409 IdempotencyConflictException; nothing stored changes; the conflict is alerted."""
    body = cart("STORE-001", [item("SKU-001")])
    amazon_client.post_signed(PATH, body)
    before = snapshot()
    different = cart("STORE-001", [item("SKU-001")], trip_id=body["idempotentShoppingTripId"])
    change(different)

    response = amazon_client.post_signed(PATH, different)

    assert response.status_code == 409
    assert response.json() == {"errorMsg": "IdempotencyConflictException"}
    assert snapshot() == before
    alert = Alert.objects.get(kind="purchase_idempotency_conflict")
    assert body["idempotentShoppingTripId"] in alert.key


def test_the_key_is_per_store(amazon_client, shop):
    from tests.factories import make_store

    other = make_store(store_id="STORE-002")
    publish_at(other, prices={"SKU-001": Decimal("3.00")})
    body = cart("STORE-001", [item("SKU-001")])
    amazon_client.post_signed(PATH, body)

    response = amazon_client.post_signed(PATH, dict(body, storeId="STORE-002"))

    assert response.status_code == 201
    assert Purchase.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_identical_deliveries_make_one_purchase_and_equal_answers_cp_2(
    business_time,
):
    """CP-2 (concurrent duplicates): ten threads behind a barrier on real PostgreSQL, each with
    its own connection and a fresh requestId: one purchase, ten equal 201 answers."""
    from catalog.tests.factories import product
    from tests.factories import make_store

    store = make_store(store_id="STORE-001")
    product("SKU-001")
    publish_at(store, prices={"SKU-001": Decimal("3.49")})
    body = cart("STORE-001", [item("SKU-001", "2")])
    barrier = threading.Barrier(10)
    answers: list = [None] * 10

    def deliver(index: int) -> None:
        try:
            client = Client()
            barrier.wait(timeout=30)
            response = amazon_post(
                client, PATH, dict(body, requestId=f"00000000-0000-4000-8000-{index:012d}")
            )
            answers[index] = (response.status_code, response.content)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(index,)) for index in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert all(answer is not None for answer in answers)
    assert {answer[0] for answer in answers} == {201}
    assert len({answer[1] for answer in answers}) == 1
    assert Purchase.objects.count() == 1
    assert CartSubmission.objects.count() == 1
    assert PurchaseLine.objects.count() == 1
    trip = ShoppingTrip.objects.get()
    assert trip.state == TripState.PRICED
    assert trip.cart_total == Decimal("6.98")
    assert OutboxMessage.objects.count() == 1
    assert answers[0][1] == b'{"purchaseId":"%s"}' % Purchase.objects.get().purchase_id.encode()


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_waiting_too_long_for_the_first_delivery_gets_503_cp_2(
    business_time, monkeypatch
):
    """§1.4: a concurrent duplicate waits on the key's row; if the first delivery has not
    committed within the budget the answer is 503 with Retry-After (Amazon retries), and
    nothing is stored by the waiting request."""
    from catalog.tests.factories import product
    from ordering.services import purchases
    from tests.factories import make_store

    monkeypatch.setattr(purchases, "LOCK_TIMEOUT_MS", 300)
    store = make_store(store_id="STORE-001")
    product("SKU-001")
    publish_at(store, prices={"SKU-001": Decimal("3.49")})
    body = cart("STORE-001", [item("SKU-001")])
    holding, release = threading.Event(), threading.Event()

    def first_delivery_stuck():
        from django.db import transaction

        try:
            with transaction.atomic():
                CartSubmission.objects.create(
                    store=store,
                    shopping_trip_id=body["idempotentShoppingTripId"],
                    cart_hash="0" * 64,
                    request_id="stuck",
                    received_at=NOW,
                    start_time=NOW,
                    end_time=NOW,
                )
                holding.set()
                release.wait(timeout=30)
                raise RuntimeError("the first delivery dies before committing")
        except RuntimeError:
            pass
        finally:
            connection.close()

    stuck = threading.Thread(target=first_delivery_stuck)
    stuck.start()
    assert holding.wait(timeout=30)

    response = amazon_post(Client(), PATH, body)
    release.set()
    stuck.join(timeout=30)
    retried = amazon_post(Client(), PATH, body)

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {"errorMsg": "ServiceUnavailableException", "retryAfter": 5}
    assert retried.status_code == 201
    assert Purchase.objects.count() == 1
