"""Create Purchases against the Amazon-side simulator (the "both" cases of the test plan): the
simulator opens a trip at its gate, the shopper exits, and the simulator delivers the signed cart
over real HTTP to our live server, with its own requestIds, timeouts and retry rules (§1.6)."""

from decimal import Decimal

import pytest

from catalog.tests import factories as catalog
from core import clock
from jwo_sim.testing import RunningSimulator
from ordering.models import Purchase
from tests import factories
from trips.enums import TripState
from trips.models import ShoppingTrip, TripAuthEvent

SIM_KEY = ("AKIDSIMORDERS", "simulator-orders-secret")


@pytest.fixture(scope="module")
def simulator(tmp_path_factory):
    with RunningSimulator(tmpdir=tmp_path_factory.mktemp("orders-sim"), signing_key=SIM_KEY) as sim:
        yield sim


@pytest.fixture
def sim(simulator, live_server, transactional_db, settings):
    """The simulator delivers carts to our live server, signed with a key we accept; our
    business clock follows the simulator's frozen clock (contract §8.3)."""
    simulator.reset()
    simulator.set_clock("2025-05-02T17:00:00Z", mode="frozen")
    settings.JWO_INBOUND_KEYS = {**settings.JWO_INBOUND_KEYS, SIM_KEY[0]: SIM_KEY[1]}
    settings.JWO_CLOCK_SOURCE = f"{simulator.base_url}/_sim/v1/clock"
    clock.invalidate()
    store = factories.make_store(store_id="STORE-001")
    simulator.set_store(
        "STORE-001",
        retailerBaseUrl=live_server.url,
        faMode="AMAZON_MANAGED",
        currency="USD",
        preauthAmount=store.preauth_amount,
    )
    catalog.product("SKU-001")
    catalog.product("SKU-BANANA")
    catalog.product("SKU-COLA", scan_codes=["0049000042566"])
    catalog.published_version(
        store,
        prices={
            "SKU-001": Decimal("3.49"),
            "SKU-BANANA": (Decimal("2.99"), "KG", "STANDARD", None),
            "SKU-COLA": Decimal("1.99"),
        },
    )
    yield simulator
    clock.invalidate()


def gate_and_exit(sim, items, **extra) -> tuple[str, dict]:
    trip_id = sim.gate("STORE-001", "shopper-001")["shoppingTripId"]
    return trip_id, sim.exit(trip_id, items, **extra)


def unit(sku, value="1", unit="unit", **extra):
    return {"id": sku, "type": "SKU", "quantity": {"value": value, "unit": unit}, **extra}


def test_single_item_cart_is_delivered_once_and_priced_cp_1_1(sim):
    """CP-1.1 (both): the simulator records 201 after 1 attempt with our purchaseId."""
    trip_id, delivery = gate_and_exit(sim, [unit("SKU-001", "1.0")])

    assert (delivery["httpStatus"], delivery["attempts"]) == (201, 1)
    purchase = Purchase.objects.get()
    assert delivery["purchaseId"] == purchase.purchase_id
    assert purchase.total == Decimal("3.49")
    trip = ShoppingTrip.objects.get(shopping_trip_id=trip_id)
    assert trip.state == TripState.PRICED
    assert trip.shopper.identity_id == "shopper-001"


def test_multi_item_weight_and_scan_code_cart_cp_1_2_to_1_5(sim):
    """CP-1.2, CP-1.3, CP-1.4, CP-1.5 (both)."""
    items = [
        unit("SKU-001", "2", lineItemId="li-1"),
        unit("SKU-BANANA", "0.742", "kg", lineItemId="li-2"),
        {"id": "0049000042566", "type": "SCANCODE", "quantity": {"value": "1", "unit": "unit"}},
    ]

    _, delivery = gate_and_exit(sim, items)

    assert delivery["httpStatus"] == 201
    assert Purchase.objects.get().total == Decimal("11.19")  # 6.98 + 2.22 + 1.99


def test_empty_cart_answers_an_empty_purchase_id_cp_1_7(sim):
    """CP-1.7 (both): 201 with "", the trip goes to payments to be cancelled."""
    trip_id, delivery = gate_and_exit(sim, [])

    assert (delivery["httpStatus"], delivery["purchaseId"]) == (201, "")
    assert ShoppingTrip.objects.get(shopping_trip_id=trip_id).state == TripState.EMPTY


def test_unknown_item_gets_a_purchase_id_and_waits_for_review_cp_1_4(sim):
    trip_id, delivery = gate_and_exit(sim, [unit("SKU-UNKNOWN")])

    assert delivery["httpStatus"] == 201 and delivery["purchaseId"]
    assert ShoppingTrip.objects.get(shopping_trip_id=trip_id).state == TripState.BAD_CART


def test_redelivery_with_a_fresh_request_id_gets_the_same_answer_cp_2(sim):
    """CP-2 (both): the simulator resends the same cart with a new requestId."""
    trip_id, first = gate_and_exit(sim, [unit("SKU-001")])

    again = sim.exit(trip_id, [unit("SKU-001")], redeliver=True)

    assert again["httpStatus"] == 201
    assert again["purchaseId"] == first["purchaseId"]
    assert Purchase.objects.count() == 1
    requests = [entry for entry in sim.trip(trip_id)["history"] if entry.get("kind") == "order"]
    assert len({entry["requestId"] for entry in requests}) == 2


def test_group_trip_is_one_purchase_with_every_entry_cp_1_13(sim):
    trip_id, delivery = gate_and_exit(sim, [unit("SKU-001")], authEvents=3)

    assert delivery["httpStatus"] == 201
    assert TripAuthEvent.objects.filter(trip__shopping_trip_id=trip_id).count() == 3
    assert Purchase.objects.count() == 1
