"""Fixtures: one simulator subprocess and one stub retailer per session, reset per test."""

from __future__ import annotations

import pytest

from jwo_sim.testing import DEFAULT_SIGNING_KEY, RunningSimulator

from .stub_retailer import EVENT_KEY, StubRetailer

START = "2025-05-02T17:00:00Z"
STORE = "STORE-001"


@pytest.fixture(scope="session")
def simulator(tmp_path_factory):
    with RunningSimulator(tmpdir=tmp_path_factory.mktemp("sim"), seed=7) as running:
        yield running


@pytest.fixture(scope="session")
def retailer():
    stub = StubRetailer({DEFAULT_SIGNING_KEY[0]: DEFAULT_SIGNING_KEY[1]})
    yield stub
    stub.close()


@pytest.fixture
def sim(simulator, retailer, tmp_path):
    """A clean simulator: frozen clock at START, STORE-001 wired to the stub retailer."""
    simulator.reset()
    retailer.reset()
    simulator.set_clock(START)
    simulator.set_store(
        STORE,
        retailerBaseUrl=retailer.url,
        eventEndpointUrl=retailer.url,
        eventApiKey=EVENT_KEY,
        csvTarget=str(tmp_path / "csv"),
    )
    return simulator
