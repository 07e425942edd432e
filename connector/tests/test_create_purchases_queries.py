# ruff: noqa: F811 - pytest fixtures imported from ordering.tests.fixtures
"""Create Purchases costs a bounded number of SQL statements whatever the cart's size (no query
per line), and a replay is a lookup, not a re-price (RELIABILITY: Speed)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.tests import factories as catalog
from ordering.tests.fixtures import business_time, publish_at  # noqa: F401 - fixtures
from ordering.tests.payloads import PATH, cart, item
from tests.factories import make_store

pytestmark = pytest.mark.django_db

# 29 today: store, replay lookup, lock timeout, the idempotency row, shopper, trip (+audit), entry
# events, version, products, scan codes, prices, the promotion-use lock and counts, the transition
# (lock, update, audit), the outbox row (+its savepoint), purchase, line ids, lines and discounts
# (COPY), uses, the answer, BEGIN/COMMIT. Trip and shopper creation take no savepoint (INSERT ...
# ON CONFLICT DO NOTHING). A shopper's first cart adds its insert; a bad cart adds its case and
# alert (33). A published version's tax rates and promotions are cached.
NEW_CART_MAX_QUERIES = 33
REPLAY_MAX_QUERIES = 3


@pytest.fixture
def big_shop(db, business_time):
    store = make_store(store_id="STORE-001")
    skus = [f"SKU-{n:03d}" for n in range(100)]
    for index, sku in enumerate(skus):
        catalog.product(sku, scan_codes=[f"2{index:011d}"])
    publish_at(
        store,
        prices={sku: (Decimal("1.99"), "UNIT", "STANDARD", "GROCERY") for sku in skus},
        tax_rates={"STANDARD": Decimal("8.25")},
        promotions=[
            {
                "code": "TEN",
                "kind": "PERCENT_OFF",
                "percent": Decimal("10"),
                "stacking": "STACKABLE",
            },
            {
                "code": "3FOR2",
                "kind": "BUY_N_PAY_M",
                "target_category": "GROCERY",
                "quantity": 3,
                "pay_quantity": 2,
            },
            {
                "code": "CAP",
                "kind": "AMOUNT_OFF",
                "amount": Decimal("0.10"),
                "max_uses_per_shopper": 5,
                "priority": -1,
            },
            {
                "code": "SPEND",
                "kind": "SPEND_THRESHOLD",
                "threshold": Decimal("10"),
                "amount": Decimal("1"),
            },
        ],
    )
    return store


def lines(count: int) -> list[dict]:
    half = count // 2
    return [item(f"SKU-{n:03d}", "3", lineItemId=f"li-{n}") for n in range(half)] + [
        {**item(f"2{n:011d}", "1", lineItemId=f"li-{n}"), "type": "SCANCODE"}
        for n in range(half, count)
    ]


def statements_for(amazon_client, body) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = amazon_client.post_signed(PATH, body)
    assert response.status_code == 201
    return len(captured)


def test_query_count_does_not_grow_with_the_cart(amazon_client, big_shop):
    """2 lines and 100 lines (SKUs and scan codes, promotions, a capped promotion, tax) cost the
    same number of statements, once the shopper exists and the version's rules are cached."""
    statements_for(amazon_client, cart("STORE-001", lines(2)))  # warm up
    two = statements_for(amazon_client, cart("STORE-001", lines(2)))
    hundred = statements_for(amazon_client, cart("STORE-001", lines(100)))
    five_hundred_lines = [
        item(f"SKU-{n % 100:03d}", "1", lineItemId=f"li-{n}")
        if n % 2
        else {**item(f"2{n % 100:011d}", "2", lineItemId=f"li-{n}"), "type": "SCANCODE"}
        for n in range(500)
    ]
    five_hundred = statements_for(amazon_client, cart("STORE-001", five_hundred_lines))

    assert two == hundred == five_hundred
    assert hundred <= NEW_CART_MAX_QUERIES


@pytest.mark.parametrize("size", [1, 100])
def test_new_cart_stays_under_the_query_budget(
    amazon_client, big_shop, django_assert_max_num_queries, size
):
    body = cart("STORE-001", lines(max(size, 2))[:size])

    with django_assert_max_num_queries(NEW_CART_MAX_QUERIES):
        response = amazon_client.post_signed(PATH, body)

    assert response.status_code == 201


def test_replay_is_a_lookup_not_a_reprice(amazon_client, big_shop, django_assert_max_num_queries):
    body = cart("STORE-001", lines(100))
    amazon_client.post_signed(PATH, body)

    with django_assert_max_num_queries(REPLAY_MAX_QUERIES):
        response = amazon_client.post_signed(PATH, body)

    assert response.status_code == 201


def test_bad_cart_costs_no_more_than_a_priced_one(amazon_client, big_shop):
    body = cart("STORE-001", [*lines(100), item("SKU-UNKNOWN", lineItemId="li-x")])

    assert statements_for(amazon_client, body) <= NEW_CART_MAX_QUERIES
