"""Fixtures for the Payment Service client tests: a real simulator subprocess per module."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from jwo_client.credentials import StaticCredentials
from jwo_client.payment_service import PaymentServiceClient
from jwo_sim.testing import RunningSimulator

KEY = ("AKIDCLIENTTEST", "client-test-secret")
STORE = "STORE-CLIENT"


@pytest.fixture(scope="module")
def simulator(tmp_path_factory):
    with RunningSimulator(
        tmpdir=tmp_path_factory.mktemp("client-sim"), retailer_keys=dict([KEY]), seed=11
    ) as running:
        yield running


@pytest.fixture
def sim(simulator):
    simulator.reset()
    simulator.set_clock("2026-05-04T15:00:00Z", mode="frozen")
    simulator.set_store(STORE, faMode="AMAZON_MANAGED", preauthAmount=Decimal("20.00"))
    yield simulator
    simulator.faults({})


@pytest.fixture
def client(sim):
    with PaymentServiceClient(
        base_url=sim.base_url, region="us-east-1", credentials=StaticCredentials(*KEY)
    ) as payment_client:
        yield payment_client


def new_trip(sim, **profile) -> str:
    shopper = f"shopper-{uuid.uuid4().hex[:8]}"
    sim.set_shopper(shopper, **({"profile": "APPROVE_ALL"} | profile))
    answer = sim.gate(STORE, shopper)
    assert answer["preauthStatus"] == "APPROVED", answer
    return answer["shoppingTripId"]
