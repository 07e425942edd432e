# ruff: noqa: F811 - pytest fixtures imported from ordering.tests.fixtures
"""Alerts for carts not priced in time (contract §0.9), run by beat through thin tasks."""

from datetime import timedelta

import pytest
from django.test import override_settings

from core import clock
from core.models import Alert
from ordering.tasks import bad_cart_sweep_task, cart_unpriced_sweep_task
from ordering.tests.fixtures import NOW, business_time, shop  # noqa: F401 - fixtures
from ordering.tests.payloads import PATH, cart, item
from tests.factories import make_trip

pytestmark = pytest.mark.django_db


@override_settings(JWO_CART_UNPRICED_ALERT_MINUTES=30)
def test_a_cart_waiting_in_the_bad_cart_queue_too_long_is_alerted_once(amazon_client, shop):
    amazon_client.post_signed(PATH, cart("STORE-001", [item("SKU-NOPE")]))

    with clock.override(NOW + timedelta(minutes=29)):
        early = cart_unpriced_sweep_task()
    with clock.override(NOW + timedelta(minutes=31)):
        late = cart_unpriced_sweep_task()
        again = cart_unpriced_sweep_task()

    assert (early["bad_carts"], late["bad_carts"], again["bad_carts"]) == (0, 1, 0)
    alert = Alert.objects.get(kind="cart_unpriced")
    assert alert.occurrences == 1
    assert "settles by policy" in alert.message


@override_settings(JWO_CART_MISSING_ALERT_MINUTES=240)
def test_a_trip_with_no_cart_for_too_long_is_alerted_once(shop):
    waiting = make_trip(store=shop, state_changed_at=NOW - timedelta(hours=5))
    make_trip(store=shop, state_changed_at=NOW - timedelta(hours=1))

    first = cart_unpriced_sweep_task()
    second = cart_unpriced_sweep_task()

    assert (first["missing_carts"], second["missing_carts"]) == (1, 0)
    assert Alert.objects.get(kind="cart_missing").key == f"cart-missing:{waiting.pk}"


def test_priced_trips_are_never_alerted(amazon_client, shop):
    amazon_client.post_signed(PATH, cart("STORE-001", [item("SKU-001")]))

    with clock.override(NOW + timedelta(days=1)):
        counts = cart_unpriced_sweep_task()

    assert counts == {"bad_carts": 0, "missing_carts": 0}


def test_the_bad_cart_sweep_task_runs_the_policy(amazon_client, shop):
    amazon_client.post_signed(PATH, cart("STORE-001", [item("SKU-NOPE")]))

    with clock.override(NOW + timedelta(days=2)):
        assert bad_cart_sweep_task() == {"settled": 1, "skipped": 0, "failed": 0}
        assert bad_cart_sweep_task() == {"settled": 0, "skipped": 0, "failed": 0}
