"""The sample catalog prices the simulator scenarios' carts (demo and rehearsal)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from catalog.models import PriceVersion
from catalog.selectors import price_version_in_force
from catalog.services.preview import price_version_preview, sample_cart_parse
from core import clock
from tests.factories import make_store

pytestmark = pytest.mark.django_db


def test_the_sample_catalog_is_published_and_prices_scenario_items():
    at = datetime(2025, 5, 2, 16, tzinfo=UTC)
    store = make_store(store_id="STORE-001")

    with clock.override(at):
        call_command("catalog_sample", "STORE-001")
        call_command("catalog_sample", "STORE-001")  # again: a new version, same rules
        version = price_version_in_force(store=store, at=at + timedelta(minutes=1))
        preview = price_version_preview(
            version=version,
            items=sample_cart_parse("SKU-001 3\nSKU-BANANA 0.742 kg\n0049000042566 1\n"),
        )

    assert PriceVersion.objects.filter(store=store).count() == 2
    # 3 waters 3 for 2 → 2.98 + 8.875 % = 0.26; bananas 2.22 (food, 0 %); cola 1.99 + 0.18
    assert preview.result.total == Decimal("7.63")
    assert preview.result.complete
