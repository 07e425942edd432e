# ruff: noqa: F811 - pytest fixtures imported from ordering.tests.fixtures
"""The bad-cart queue (contract §1.5, test plan CP-1.4): staff map, drop or price by hand each
unknown line, then the trip is priced and settled; a cart still open at its settle-by time is
settled by store policy; nothing is ever charged twice."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from catalog.models import Product
from catalog.tests import factories as catalog
from core import clock
from core.models import Alert, AlertStatus, AuditEntry, OutboxMessage
from ordering.enums import BadCartStatus, LineResolution, LineStatus, PurchaseStatus
from ordering.models import BadCartCase, PromotionUse, Purchase, PurchaseLine
from ordering.services.bad_cart import (
    BadCartClosed,
    BadCartUnresolved,
    bad_cart_finish,
    bad_cart_line_resolve,
    bad_cart_preview,
    bad_cart_settle_by_policy,
    bad_cart_sweep,
)
from ordering.tests.fixtures import NOW, business_time, publish_at, shop  # noqa: F401 - fixtures
from ordering.tests.payloads import PATH, cart, item
from trips.enums import BadCartPolicy, TripState
from trips.models import ShoppingTrip
from trips.services.handoff import START_CHARGE

pytestmark = pytest.mark.django_db
STAFF = "user:7:store-staff"
SETTLE_BY = "2025-05-04T11:00:00+00:00"  # first FINANCIAL event 17:00 + 46 h − 4 h margin


def bad_cart(amazon_client, *items) -> BadCartCase:
    body = cart(
        "STORE-001", list(items) or [item("SKU-001", "2"), item("SKU-MYSTERY", lineItemId="x")]
    )
    response = amazon_client.post_signed(PATH, body)
    assert response.status_code == 201
    return BadCartCase.objects.get(purchase__purchase_id=response.json()["purchaseId"])


def problem_line(case: BadCartCase) -> PurchaseLine:
    return case.purchase.lines.get(status__in=[LineStatus.UNKNOWN_ITEM, LineStatus.UNIT_MISMATCH])


def handoffs(trip) -> int:
    return OutboxMessage.objects.filter(kind=START_CHARGE, trip_ref=trip.shopping_trip_id).count()


def test_a_bad_cart_opens_a_case_with_an_alert_and_no_payment(amazon_client, shop):
    case = bad_cart(amazon_client)

    assert case.status == BadCartStatus.OPEN
    assert case.settle_by.isoformat() == SETTLE_BY
    assert case.trip.state == TripState.BAD_CART
    assert case.purchase.total is None
    alert = Alert.objects.get(kind="bad_cart")
    assert case.purchase.purchase_id in alert.message
    assert handoffs(case.trip) == 0
    assert bad_cart_preview(case=case).result.total == Decimal("6.98")  # known items only


def test_staff_map_the_unknown_line_then_the_trip_is_priced_and_handed_off(amazon_client, shop):
    case = bad_cart(amazon_client)
    line = problem_line(case)

    bad_cart_line_resolve(
        line_pk=line.pk,
        actor=STAFF,
        resolution=LineResolution.MAPPED,
        product=Product.objects.get(sku="SKU-002"),
        note="new label for SKU-002",
    )
    bad_cart_finish(case_pk=case.pk, actor=STAFF)

    case.refresh_from_db()
    assert case.status == BadCartStatus.RESOLVED
    assert case.closed_by == STAFF
    purchase = Purchase.objects.get(pk=case.purchase_id)
    assert purchase.status == PurchaseStatus.PRICED
    assert purchase.total == Decimal("8.23")  # 2 × 3.49 + 1.25
    line.refresh_from_db()
    assert (line.status, line.product.sku, line.total) == (
        LineStatus.PRICED,
        "SKU-002",
        Decimal("1.25"),
    )
    trip = ShoppingTrip.objects.get(pk=case.trip_id)
    assert (trip.state, trip.cart_total) == (TripState.PRICED, Decimal("8.23"))
    assert handoffs(trip) == 1
    assert Alert.objects.get(kind="bad_cart").status == AlertStatus.RESOLVED
    assert AuditEntry.objects.filter(
        entity="purchase_line", action="bad_cart_mapped", actor=STAFF
    ).exists()


def test_staff_drop_the_unknown_line(amazon_client, shop):
    case = bad_cart(amazon_client)

    bad_cart_line_resolve(
        line_pk=problem_line(case).pk, actor=STAFF, resolution=LineResolution.DROPPED
    )
    bad_cart_finish(case_pk=case.pk, actor=STAFF)

    assert Purchase.objects.get(pk=case.purchase_id).total == Decimal("6.98")
    assert PurchaseLine.objects.get(line_key="x").status == LineStatus.DROPPED


def test_staff_price_a_line_by_hand_with_its_tax_class(amazon_client, db, business_time):
    from tests.factories import make_store

    store = make_store(store_id="STORE-001")
    catalog.product("SKU-001")
    publish_at(store, prices={"SKU-001": Decimal("3.49")}, tax_rates={"STANDARD": Decimal("10")})
    case = bad_cart(amazon_client)

    bad_cart_line_resolve(
        line_pk=problem_line(case).pk,
        actor=STAFF,
        resolution=LineResolution.MANUAL,
        amount=Decimal("5.00"),
        tax_category="STANDARD",
    )
    bad_cart_finish(case_pk=case.pk, actor=STAFF)

    purchase = Purchase.objects.get(pk=case.purchase_id)
    manual = purchase.lines.get(line_key="x")
    assert (manual.status, manual.gross, manual.tax, manual.total) == (
        LineStatus.MANUAL,
        Decimal("5.00"),
        Decimal("0.50"),
        Decimal("5.50"),
    )
    assert purchase.total == Decimal("13.18")  # 6.98 + 0.70 tax + 5.50


def test_a_cart_with_every_line_dropped_is_released(amazon_client, shop):
    case = bad_cart(amazon_client, item("SKU-MYSTERY"))

    bad_cart_line_resolve(
        line_pk=problem_line(case).pk, actor=STAFF, resolution=LineResolution.DROPPED
    )
    bad_cart_finish(case_pk=case.pk, actor=STAFF)

    trip = ShoppingTrip.objects.get(pk=case.trip_id)
    assert (trip.state, trip.cart_total) == (TripState.EMPTY, Decimal("0"))
    assert handoffs(trip) == 1


def test_finish_is_refused_while_a_line_waits_for_a_decision(amazon_client, shop):
    case = bad_cart(amazon_client)

    with pytest.raises(BadCartUnresolved):
        bad_cart_finish(case_pk=case.pk, actor=STAFF)

    assert ShoppingTrip.objects.get(pk=case.trip_id).state == TripState.BAD_CART


def test_finish_is_refused_when_the_mapped_product_has_no_price(amazon_client, shop):
    case = bad_cart(amazon_client)
    unpriced = catalog.product("SKU-UNPRICED")
    bad_cart_line_resolve(
        line_pk=problem_line(case).pk,
        actor=STAFF,
        resolution=LineResolution.MAPPED,
        product=unpriced,
    )

    with pytest.raises(BadCartUnresolved, match="x"):
        bad_cart_finish(case_pk=case.pk, actor=STAFF)


def test_a_quantity_unit_mismatch_can_be_priced_by_hand(amazon_client, shop):
    case = bad_cart(amazon_client, item("SKU-001", "0.5", "kg", lineItemId="x"))

    bad_cart_line_resolve(
        line_pk=problem_line(case).pk,
        actor=STAFF,
        resolution=LineResolution.MANUAL,
        amount=Decimal("3.49"),
        tax_category="STANDARD",
    )
    bad_cart_finish(case_pk=case.pk, actor=STAFF)

    assert Purchase.objects.get(pk=case.purchase_id).total == Decimal("3.49")


def test_resolution_uses_the_prices_in_force_when_the_shopper_left(amazon_client, shop):
    """A price change published while the cart waits does not alter it."""
    case = bad_cart(amazon_client)
    later = NOW + timedelta(hours=2)
    with clock.override(later):
        publish_at(shop, at=later, prices={"SKU-001": Decimal("9.99")}, reason="price rise")
        bad_cart_line_resolve(
            line_pk=problem_line(case).pk, actor=STAFF, resolution=LineResolution.DROPPED
        )
        bad_cart_finish(case_pk=case.pk, actor=STAFF)

    assert Purchase.objects.get(pk=case.purchase_id).total == Decimal("6.98")


@pytest.mark.parametrize(
    ("minutes_before", "settled"),
    [(60, False), (10, True), (0, True)],  # the sweep acts JWO_BAD_CART_SETTLE_LEAD_MINUTES early
)
def test_the_sweep_settles_open_carts_at_their_settle_by_time(
    amazon_client, shop, minutes_before, settled
):
    case = bad_cart(amazon_client)

    with clock.override(case.settle_by - timedelta(minutes=minutes_before)):
        counts = bad_cart_sweep()

    assert counts["settled"] == (1 if settled else 0)
    case.refresh_from_db()
    assert (case.status == BadCartStatus.SETTLED_BY_POLICY) is settled


def test_policy_charge_known_items_drops_the_unknown_and_charges_the_rest(amazon_client, shop):
    case = bad_cart(amazon_client)

    bad_cart_settle_by_policy(case_pk=case.pk)

    trip = ShoppingTrip.objects.get(pk=case.trip_id)
    assert (trip.state, trip.cart_total) == (TripState.PRICED, Decimal("6.98"))
    purchase = Purchase.objects.get(pk=case.purchase_id)
    assert purchase.status == PurchaseStatus.PRICED
    assert purchase.lines.get(line_key="x").resolution == LineResolution.AUTO_DROPPED
    assert handoffs(trip) == 1
    assert Alert.objects.get(kind="bad_cart_settled_by_policy").severity == "INFO"


def test_policy_cancel_releases_the_preauth_and_keeps_the_known_total_owed(amazon_client, shop):
    """Contract §9: cancel with an unpaid priced total → the trip goes to payments EMPTY with the
    known total, so payments cancels and reports total/0."""
    shop.bad_cart_policy = BadCartPolicy.CANCEL
    shop.save(update_fields=["bad_cart_policy"])
    case = bad_cart(amazon_client)

    bad_cart_settle_by_policy(case_pk=case.pk)

    trip = ShoppingTrip.objects.get(pk=case.trip_id)
    assert (trip.state, trip.cart_total) == (TripState.EMPTY, Decimal("6.98"))
    assert Purchase.objects.get(pk=case.purchase_id).status == PurchaseStatus.CANCELLED
    assert handoffs(trip) == 1


def test_staff_decisions_taken_before_the_deadline_are_kept_by_the_policy(amazon_client, shop):
    case = bad_cart(
        amazon_client, item("SKU-001"), item("A-1", lineItemId="a"), item("B-1", lineItemId="b")
    )
    first = case.purchase.lines.get(line_key="a")
    bad_cart_line_resolve(
        line_pk=first.pk,
        actor=STAFF,
        resolution=LineResolution.MAPPED,
        product=Product.objects.get(sku="SKU-002"),
    )

    bad_cart_settle_by_policy(case_pk=case.pk)

    purchase = Purchase.objects.get(pk=case.purchase_id)
    assert purchase.total == Decimal("4.74")  # 3.49 + 1.25; "b" dropped
    assert purchase.lines.get(line_key="b").resolution == LineResolution.AUTO_DROPPED


def test_nothing_is_settled_twice_staff_then_sweep(amazon_client, shop):
    case = bad_cart(amazon_client)
    bad_cart_line_resolve(
        line_pk=problem_line(case).pk, actor=STAFF, resolution=LineResolution.DROPPED
    )
    bad_cart_finish(case_pk=case.pk, actor=STAFF)

    with clock.override(case.settle_by):
        counts = bad_cart_sweep()
    with pytest.raises(BadCartClosed):
        bad_cart_settle_by_policy(case_pk=case.pk)
    with pytest.raises(BadCartClosed):
        bad_cart_line_resolve(
            line_pk=case.purchase.lines.get(line_key="x").pk,
            actor=STAFF,
            resolution=LineResolution.DROPPED,
        )

    assert counts == {"settled": 0, "skipped": 0, "failed": 0}
    assert handoffs(case.trip) == 1


def test_nothing_is_settled_twice_sweep_then_staff(amazon_client, shop):
    case = bad_cart(amazon_client)
    bad_cart_settle_by_policy(case_pk=case.pk)

    with pytest.raises(BadCartClosed):
        bad_cart_finish(case_pk=case.pk, actor=STAFF)

    assert handoffs(case.trip) == 1


@pytest.mark.django_db(transaction=True)
def test_staff_and_sweep_racing_settle_the_cart_exactly_once(business_time):
    """Staff press "price and settle" while the sweep settles by policy, on real PostgreSQL:
    the trip row lock lets exactly one through; one hand-off to payments."""
    from django.test import Client

    from tests.factories import make_store
    from tests.signing import amazon_post

    store = make_store(store_id="STORE-001")
    catalog.product("SKU-001")
    publish_at(store, prices={"SKU-001": Decimal("3.49")})
    response = amazon_post(
        Client(), PATH, cart("STORE-001", [item("SKU-001"), item("NOPE", lineItemId="x")])
    )
    case = BadCartCase.objects.get(purchase__purchase_id=response.json()["purchaseId"])
    bad_cart_line_resolve(
        line_pk=problem_line(case).pk, actor=STAFF, resolution=LineResolution.DROPPED
    )
    barrier = threading.Barrier(2)
    outcomes = []

    def run(action):
        try:
            barrier.wait(timeout=30)
            action()
            outcomes.append("settled")
        except BadCartClosed:
            outcomes.append("closed")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(lambda: bad_cart_finish(case_pk=case.pk, actor=STAFF),)),
        threading.Thread(target=run, args=(lambda: bad_cart_settle_by_policy(case_pk=case.pk),)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["closed", "settled"]
    assert OutboxMessage.objects.filter(kind=START_CHARGE).count() == 1
    assert AuditEntry.objects.filter(entity="bad_cart", action="transition").count() == 1


def test_promotion_uses_are_counted_when_the_cart_is_finally_priced(
    amazon_client, db, business_time
):
    from tests.factories import make_store

    store = make_store(store_id="STORE-001")
    catalog.product("SKU-001")
    publish_at(
        store,
        prices={"SKU-001": Decimal("3.49")},
        promotions=[
            {
                "code": "ONCE",
                "kind": "AMOUNT_OFF",
                "amount": Decimal("0.49"),
                "max_uses_per_shopper": 1,
            }
        ],
    )
    case = bad_cart(amazon_client)
    assert not PromotionUse.objects.exists()

    bad_cart_line_resolve(
        line_pk=problem_line(case).pk, actor=STAFF, resolution=LineResolution.DROPPED
    )
    bad_cart_finish(case_pk=case.pk, actor=STAFF)

    assert Purchase.objects.get(pk=case.purchase_id).total == Decimal("6.00")
    assert list(PromotionUse.objects.values_list("promotion_code", flat=True)) == ["ONCE"]


def test_manual_amount_must_fit_the_currency(amazon_client, shop):
    from core.errors import ApplicationError

    case = bad_cart(amazon_client)

    with pytest.raises(ApplicationError, match="decimals"):
        bad_cart_line_resolve(
            line_pk=problem_line(case).pk,
            actor=STAFF,
            resolution=LineResolution.MANUAL,
            amount=Decimal("1.999"),
            tax_category="STANDARD",
        )
