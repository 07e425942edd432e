"""Fixtures for the debt tests: one simulator subprocess per session, reset per test, and the
product pointed at it (Payment Service base URL, outbound SigV4 credentials)."""

from __future__ import annotations

import pytest

from jwo_sim.testing import DEFAULT_RETAILER_KEYS, RunningSimulator

RETAILER_KEY_ID, RETAILER_SECRET = next(iter(DEFAULT_RETAILER_KEYS.items()))


@pytest.fixture(scope="session")
def simulator(tmp_path_factory):
    with RunningSimulator(tmpdir=tmp_path_factory.mktemp("debt-sim"), seed=11) as running:
        yield running


@pytest.fixture
def sim(simulator, settings, monkeypatch):
    """A clean simulator the product talks to (no retailer connectors wired: see test_e2e)."""
    simulator.reset()
    settings.JWO_PAYMENT_BASE_URL = simulator.base_url
    settings.DEBT_BALANCE_BOOK_URL = simulator.base_url
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", RETAILER_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", RETAILER_SECRET)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return simulator
