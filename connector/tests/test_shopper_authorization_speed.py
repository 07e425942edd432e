"""Shopper Authorization under pressure: statement count, deadlines and fallback (CC-7a.16),
concurrent identical calls, and a new version arriving mid-traffic."""

import threading
import time
from contextlib import contextmanager

import psycopg
import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.models import Alert
from debt.models import ShopperStanding
from gate.enums import Action, DecisionSource, FallbackReason
from gate.models import GateDecision, PolicyRule
from gate.tests.conftest import fresh_gate_cache  # noqa: F401 - autouse fixture
from gate.tests.factories import PATH, gate_payload, make_version
from jwo_client import wire
from tests.factories import make_store
from tests.signing import amazon_post
from trips.enums import BalanceStrategy, GateFallback
from trips.models import GateEvent, Shopper, ShoppingTrip


def post(client, payload):
    response = client.post_signed(PATH, payload)
    return response.status_code, wire.loads(response.content)


@contextmanager
def table_locked(model):
    """Another session holds ACCESS EXCLUSIVE on the model's table (reads block) until exit."""
    settings = connection.settings_dict
    holder = psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"] or 5432,
        user=settings["USER"],
        dbname=settings["NAME"],
    )
    try:
        holder.execute(f"LOCK TABLE {model._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        yield
    finally:
        holder.rollback()
        holder.close()


@pytest.mark.django_db
def test_hot_path_is_two_statements_with_our_books(amazon_client, store):
    """RELIABILITY: ≤ 2 SQL statements per decision: the balance lookup and one write."""
    post(amazon_client, gate_payload(store))  # warm this process's cache for the store

    with CaptureQueriesContext(connection) as queries:
        status, _body = post(amazon_client, gate_payload(store, shopper_id="someone-new"))

    assert status == 200
    statements = [query["sql"] for query in queries.captured_queries]
    assert len(statements) == 2, statements
    assert "debt_shopperstanding" in statements[0]
    assert statements[1].startswith("EXECUTE jwo_gate_record")


@pytest.mark.django_db
def test_hot_path_is_one_statement_when_amazon_manages_balances(amazon_client):
    """With Amazon-managed balances nothing is looked up: the write is the only statement."""
    store = make_store(balance_strategy=BalanceStrategy.AMAZON)
    post(amazon_client, gate_payload(store))

    with CaptureQueriesContext(connection) as queries:
        post(amazon_client, gate_payload(store, authorized=False, risks=["BadDebt"]))

    assert len(queries.captured_queries) == 1


@pytest.mark.django_db
def test_replay_is_one_lookup_and_one_statement(amazon_client, store):
    """A replayed event id is answered from the same statement that would have written it."""
    payload = gate_payload(store)
    post(amazon_client, payload)

    with CaptureQueriesContext(connection) as queries:
        status, body = post(amazon_client, payload)

    assert (status, body) == (200, {"shopperAuthorized": True})
    assert len(queries.captured_queries) == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("fallback", "expected"),
    [
        (GateFallback.FOLLOW_AMAZON, {"shopperAuthorized": True}),
        (GateFallback.ALLOW, {"shopperAuthorized": True}),
        (GateFallback.DENY, {"shopperAuthorized": False, "reason": "FALLBACK_DENY"}),
    ],
)
def test_balance_lookup_over_budget_answers_with_the_stores_fallback(
    amazon_client, settings, fallback, expected
):
    """CC-7a.16: our balance data cannot be read in time (its table is locked): the store's
    fallback answers within the budget, the decision is logged as FALLBACK and an alert counts
    it."""
    settings.GATE_ALERT_THROTTLE_SECONDS = 0  # count every fallback in the alert at once
    store = make_store(gate_budget_ms=150, gate_fallback=fallback)
    post(amazon_client, gate_payload(store))  # warm cache

    with table_locked(ShopperStanding):
        started = time.perf_counter()
        status, body = post(amazon_client, gate_payload(store))
        elapsed = time.perf_counter() - started
        post(amazon_client, gate_payload(store))

    assert status == 200
    assert body == expected
    assert 0.14 < elapsed < 0.6
    decision = GateDecision.objects.filter(source=DecisionSource.FALLBACK).first()
    assert decision.fallback_reason == FallbackReason.BALANCE_TIMEOUT
    alert = Alert.objects.get(key=f"gate.fallback:{store.store_id}")
    assert alert.occurrences == 2
    assert GateDecision.objects.filter(source=DecisionSource.FALLBACK).count() == 2
    # the trip link is recorded all the same
    assert GateEvent.objects.filter(store=store).count() == 3
    # and once the data is readable again the policy decides
    post(amazon_client, gate_payload(store))
    assert GateDecision.objects.order_by("-id").first().source == DecisionSource.POLICY


@pytest.mark.django_db(transaction=True)
def test_policy_load_over_budget_answers_with_the_fallback(amazon_client):
    """CC-7a.16: a new version cannot be loaded in time (its rules table is locked): the
    fallback answers (FOLLOW_AMAZON echoes Amazon's ADJUST) and is counted."""
    store = make_store(gate_budget_ms=150)
    make_version(store, rules=[])
    post(amazon_client, gate_payload(store))  # this process caches v1
    make_version(store, rules=[{"name": "No QR", "event_types": ["QR"], "action": Action.DENY}])

    with table_locked(PolicyRule):
        started = time.perf_counter()
        status, body = post(amazon_client, gate_payload(store, event_type="QR", adjust="30.00"))
        elapsed = time.perf_counter() - started

    assert status == 200
    assert body["authorizationConditions"][0]["amount"]["value"] == 30
    assert elapsed < 0.6
    decision = GateDecision.objects.order_by("-id").first()
    assert (decision.source, decision.fallback_reason) == ("FALLBACK", "POLICY_TIMEOUT")
    assert Alert.objects.get(key=f"gate.fallback:{store.store_id}").occurrences == 1
    # the next call loads v2 and applies it
    _status, body = post(amazon_client, gate_payload(store, event_type="QR"))
    assert body["shopperAuthorized"] is False


def _run_concurrently(count: int, work) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int):
        try:
            barrier.wait()
            results[index] = work(index)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.mark.django_db(transaction=True)
def test_ten_identical_calls_at_once_give_one_decision_and_ten_equal_answers():
    """Idempotency on gateAuthenticationEvent.id under concurrency (threads, real PostgreSQL)."""
    store = make_store()
    payload = gate_payload(store, shopper_id="rushing-shopper", adjust="30.00")

    results = _run_concurrently(10, lambda _i: _signed_post(payload))

    assert [status for status, _ in results] == [200] * 10
    assert len({body for _, body in results}) == 1
    assert GateDecision.objects.count() == 1
    assert ShoppingTrip.objects.count() == 1
    assert GateEvent.objects.count() == 1
    assert Shopper.objects.filter(identity_id="rushing-shopper").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_new_shoppers_group_entering_at_once_makes_one_shopper_and_every_trip():
    """Ten different gate events of one first-time shopper race on the shopper row."""
    store = make_store()
    payloads = [gate_payload(store, shopper_id="first-timer") for _ in range(10)]

    results = _run_concurrently(10, lambda i: _signed_post(payloads[i]))

    assert [status for status, _ in results] == [200] * 10
    assert Shopper.objects.filter(identity_id="first-timer").count() == 1
    assert ShoppingTrip.objects.filter(shopper__identity_id="first-timer").count() == 10
    assert GateDecision.objects.count() == 10


def _signed_post(payload) -> tuple[int, bytes]:
    response = amazon_post(Client(), PATH, payload)
    return response.status_code, response.content


@pytest.mark.django_db(transaction=True)
def test_a_dead_persistent_connection_costs_one_retry_not_a_health_check_per_call(
    amazon_client, monkeypatch
):
    """Persistent connections with CONN_HEALTH_CHECKS: Django would run `SELECT 1` before each
    request's first query (a third round trip). The gate skips it, and a connection that died
    meanwhile is replaced when its first statement fails: the answer is still recorded."""
    store = make_store()
    checks = []
    wrapper = type(connections["default"])
    original = wrapper.is_usable
    monkeypatch.setattr(wrapper, "is_usable", lambda self: checks.append(1) or original(self))
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", True)
    try:
        post(amazon_client, gate_payload(store))
        backend = connection.connection.info.backend_pid
        with psycopg.connect(
            host=connection.settings_dict["HOST"],
            port=connection.settings_dict["PORT"] or 5432,
            user=connection.settings_dict["USER"],
            dbname=connection.settings_dict["NAME"],
            autocommit=True,
        ) as killer:
            killer.execute("SELECT pg_terminate_backend(%s)", [backend])

        status, body = post(amazon_client, gate_payload(store))

        assert (status, body) == (200, {"shopperAuthorized": True})
        assert GateDecision.objects.count() == 2
        assert connection.connection.info.backend_pid != backend
        assert checks == []
    finally:
        connection.close()
