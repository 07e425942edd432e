"""Fixtures for lifecycle tests: the real simulator, the live server for events, real Redis."""

from __future__ import annotations

import os

import pytest
import redis
from django.conf import settings as django_settings

from core import clock
from jwo_sim.testing import RunningSimulator
from payments.amazon import endpoint_guard, reset_process_state
from tests import factories

from .harness import EVENT_API_KEY, RETAILER_KEY, START, Harness

# Outbound credentials through the standard AWS chain, as in production (contract §0.7).
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": RETAILER_KEY[0],
    "AWS_SECRET_ACCESS_KEY": RETAILER_KEY[1],
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    "AWS_CONFIG_FILE": "/dev/null",
}


@pytest.fixture(scope="session")
def simulator(tmp_path_factory):
    for name, value in AWS_ENV.items():
        os.environ[name] = value
    os.environ.pop("AWS_SESSION_TOKEN", None)
    with RunningSimulator(
        tmpdir=tmp_path_factory.mktemp("payments-sim"), retailer_keys=dict([RETAILER_KEY]), seed=5
    ) as running:
        yield running


@pytest.fixture
def sim(simulator, settings):
    """A clean simulator with a frozen clock that our business clock follows."""
    simulator.reset()
    simulator.set_clock(START, mode="frozen")
    settings.JWO_PAYMENT_BASE_URL = simulator.base_url
    settings.JWO_CLOCK_SOURCE = f"{simulator.base_url}/_sim/v1/clock"
    reset_process_state()
    clock.invalidate()
    endpoint_guard().clear()
    redis.Redis.from_url(django_settings.CELERY_BROKER_URL).flushdb()
    yield simulator
    simulator.faults({})
    reset_process_state()
    clock.invalidate()


def _harness(sim, events_url: str | None, **store_config) -> Harness:
    store = factories.make_store(**store_config)
    config = {
        "faMode": "AMAZON_MANAGED",
        "currency": store.currency,
        "preauthWindowHours": store.preauth_window_hours,
        "preauthAmount": store.preauth_amount,
    }
    if events_url:
        config.update(eventEndpointUrl=events_url, eventApiKey=EVENT_API_KEY)
    sim.set_store(store.store_id, **config)
    return Harness(sim, store=store, events_url=events_url)


@pytest.fixture
def harness(sim, live_server, transactional_db):
    """Lifecycle over HTTP both ways: our calls to the simulator, its events to our server."""
    return _harness(sim, f"{live_server.url}/v1/events/jwo")


@pytest.fixture
def make_harness(sim, live_server, transactional_db):
    """Build a harness with store settings (``decline_strategy=...``) or without events."""

    def build(*, events: bool = True, **store_config) -> Harness:
        return _harness(sim, f"{live_server.url}/v1/events/jwo" if events else None, **store_config)

    return build
