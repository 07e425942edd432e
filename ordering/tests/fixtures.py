"""Fixtures for ordering and Create Purchases tests; import the ones you use into the module.

The business clock is pinned: prices are published at ``PUBLISHED_AT`` and carts end at
``TRIP_END`` (as in ``payloads.cart``), so a version published "now" is in force for the trip.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from catalog.tests import factories as catalog
from core import clock
from tests import factories

PUBLISHED_AT = datetime(2025, 5, 2, 16, 0, tzinfo=UTC)
TRIP_END = datetime(2025, 5, 2, 17, 9, 39, tzinfo=UTC)
NOW = datetime(2025, 5, 2, 17, 10, tzinfo=UTC)


@pytest.fixture
def business_time():
    """Pin the business clock at NOW for the test."""
    with clock.override(NOW):
        yield NOW


def publish_at(store, *, at=PUBLISHED_AT, **rules):
    """Publish a price version at ``at`` (business time), then return to the pinned time."""
    current = clock.now()
    with clock.override(at):
        version = catalog.published_version(store, **rules)
    assert clock.now() == current
    return version


@pytest.fixture
def shop(db, business_time):
    """A USD store with a small published catalog: unit items, a weight item, scan codes."""
    store = factories.make_store(store_id="STORE-001")
    catalog.product("SKU-001", scan_codes=["012345678905"])
    catalog.product("SKU-002")
    catalog.product("SKU-BANANA")
    catalog.product("SKU-COLA", scan_codes=["0049000042566"])
    publish_at(
        store,
        prices={
            "SKU-001": Decimal("3.49"),
            "SKU-002": Decimal("1.25"),
            "SKU-BANANA": (Decimal("2.99"), "KG", "STANDARD", None),
            "SKU-COLA": Decimal("1.99"),
        },
    )
    return store
