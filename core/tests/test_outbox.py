"""The transactional outbox against PostgreSQL: committed with the change, delivered once,
retried by the row (not by Celery countdowns), given up loudly, re-opened after a crash."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction

from core import clock
from core.models import Alert, OutboxMessage, OutboxStatus
from core.outbox import (
    GiveUp,
    OutboxHandler,
    RetryLater,
    full_jitter_backoff,
    outbox_deliver,
    outbox_deliver_due,
    outbox_enqueue,
    outbox_handler_register,
    outbox_retry_now,
    outbox_sweep,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class Recorder:
    """A test handler: records every send; its behaviour is scripted per call."""

    def __init__(self, kind, script=None, **handler_options):
        self.kind = kind
        self.sent: list[dict] = []
        self.succeeded: list[tuple[int, dict]] = []
        self.dead: list[int] = []
        self.in_transaction: list[bool] = []
        self.script = list(script or [])
        outbox_handler_register(
            OutboxHandler(
                kind=kind,
                send=self.send,
                on_success=lambda message, result: self.succeeded.append((message.pk, result)),
                on_dead=lambda message: self.dead.append(message.pk),
                **handler_options,
            )
        )

    def send(self, message):
        self.sent.append(message.payload)
        self.in_transaction.append(connection.in_atomic_block)
        step = self.script.pop(0) if self.script else "ok"
        if isinstance(step, Exception):
            raise step
        return {"echo": message.payload}


@pytest.fixture
def pinned_clock():
    with clock.override(T0):
        yield


def _enqueue(kind, key="k-1", **kwargs):
    with transaction.atomic():
        return outbox_enqueue(kind=kind, key=key, payload={"n": 1}, **kwargs)


@pytest.mark.django_db(transaction=True)
def test_enqueue_outside_a_transaction_is_refused(pinned_clock):
    Recorder("test.refuse")
    with pytest.raises(RuntimeError):
        outbox_enqueue(kind="test.refuse", key="x", payload={})


def test_same_key_twice_is_one_message(pinned_clock):
    Recorder("test.once")
    first = _enqueue("test.once")
    second = _enqueue("test.once")
    assert first.pk == second.pk
    assert OutboxMessage.objects.filter(key="k-1").count() == 1


def test_rolled_back_change_leaves_no_message(pinned_clock):
    Recorder("test.rollback")
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        outbox_enqueue(kind="test.rollback", key="gone", payload={})
        1 / 0  # noqa: B018 - the business change fails after the enqueue
    assert not OutboxMessage.objects.filter(key="gone").exists()


def test_delivery_calls_once_and_records_success_with_its_effect(pinned_clock):
    handler = Recorder("test.ok")
    message = _enqueue("test.ok")
    assert outbox_deliver(message_id=message.pk) == "succeeded"
    assert outbox_deliver(message_id=message.pk) == "succeeded"  # a duplicate delivery: no-op
    message.refresh_from_db()
    assert message.status == OutboxStatus.SUCCEEDED
    assert message.attempts == 1
    assert handler.sent == [{"n": 1}]
    assert handler.succeeded == [(message.pk, {"echo": {"n": 1}})]


def test_retry_later_waits_in_the_row_on_the_business_clock(pinned_clock):
    handler = Recorder("test.retry", script=[RetryLater(600, status="429", detail="rate limited")])
    message = _enqueue("test.retry")
    assert outbox_deliver(message_id=message.pk) == "retry"
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING
    assert message.next_attempt_at == T0 + timedelta(seconds=600)
    assert message.last_status_code == "429"
    assert outbox_deliver(message_id=message.pk) == "not-due"
    clock.advance_override(599)
    assert outbox_deliver_due() == {}
    clock.advance_override(1)
    assert outbox_deliver_due() == {"succeeded": 1}
    assert len(handler.sent) == 2


def test_give_up_marks_dead_runs_the_dead_effect_and_alerts(pinned_clock):
    handler = Recorder("test.dead", script=[GiveUp(status="400", detail="BadRequestException")])
    message = _enqueue("test.dead")
    assert outbox_deliver(message_id=message.pk) == "dead"
    message.refresh_from_db()
    assert message.status == OutboxStatus.DEAD
    assert handler.dead == [message.pk]
    alert = Alert.objects.get(key=f"outbox-dead:{message.key}")
    assert alert.severity == "CRITICAL"


def test_attempt_limit_turns_retries_into_dead(pinned_clock):
    Recorder("test.limit", script=[RetryLater(1), RetryLater(1)], max_attempts=2)
    message = _enqueue("test.limit")
    assert outbox_deliver(message_id=message.pk) == "retry"
    clock.advance_override(1)
    assert outbox_deliver(message_id=message.pk) == "dead"


def test_deadline_turns_retries_into_dead(pinned_clock):
    Recorder(
        "test.deadline",
        script=[RetryLater(120)],
        give_up_at=lambda message: T0 + timedelta(seconds=60),
    )
    message = _enqueue("test.deadline")
    assert outbox_deliver(message_id=message.pk) == "dead"


def test_operator_retry_puts_a_dead_message_back_in_line(pinned_clock):
    handler = Recorder("test.revive", script=[GiveUp(status="403")])
    message = _enqueue("test.revive")
    outbox_deliver(message_id=message.pk)
    outbox_retry_now(message_id=message.pk)
    assert outbox_deliver(message_id=message.pk) == "succeeded"
    assert len(handler.sent) == 2


def test_sweep_reopens_an_expired_lease_after_a_crash(pinned_clock):
    """A worker died between claiming the row and recording the outcome."""
    handler = Recorder("test.crash", lease_seconds=30)
    message = _enqueue("test.crash")
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=OutboxStatus.IN_FLIGHT, attempts=1, lease_expires_at=T0 + timedelta(seconds=30)
    )
    assert outbox_sweep()["reopened"] == 0
    clock.advance_override(31)
    result = outbox_sweep()
    assert result["reopened"] == 1
    assert outbox_deliver(message_id=message.pk) == "succeeded"
    message.refresh_from_db()
    assert message.attempts == 2
    assert len(handler.sent) == 1


def test_unknown_kind_is_kept_and_alerted_not_dropped(pinned_clock):
    with transaction.atomic():
        message = outbox_enqueue(kind="test.nobody-handles", key="orphan", payload={})
    assert outbox_deliver(message_id=message.pk) == "no-handler"
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING
    assert message.next_attempt_at == T0 + timedelta(seconds=60)
    assert Alert.objects.filter(kind="outbox_no_handler").exists()


def test_full_jitter_backoff_stays_under_its_cap():
    for attempt in range(1, 20):
        delay = full_jitter_backoff(attempt, base=1, cap=60)
        assert 0 <= delay <= min(60, 2 ** (attempt - 1))


@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_message_call_out_once():
    calls = []
    started = threading.Event()
    release = threading.Event()

    def slow_send(message):
        calls.append(message.pk)
        started.set()
        release.wait(5)
        return {}

    outbox_handler_register(OutboxHandler(kind="test.race", send=slow_send))
    with transaction.atomic():
        message = outbox_enqueue(kind="test.race", key="race", payload={})
    outcomes = []

    def deliver():
        try:
            outcomes.append(outbox_deliver(message_id=message.pk))
        finally:
            connection.close()

    first = threading.Thread(target=deliver)
    first.start()
    started.wait(5)
    others = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in others:
        thread.start()
    for thread in others:
        thread.join()
    release.set()
    first.join()
    assert calls == [message.pk]
    # The others either saw it in flight or found it locked by a sibling checking it: no call.
    assert outcomes.count("succeeded") == 1
    assert set(outcomes) - {"succeeded"} <= {"in_flight", "busy"}


@pytest.mark.django_db(transaction=True)
def test_commit_enqueues_delivery_and_a_broker_outage_loses_nothing(settings, monkeypatch):
    """Fast path on commit; with the broker down the row waits for the sweep."""
    from core import tasks

    kicked = []
    monkeypatch.setattr(
        tasks.outbox_deliver_task, "apply_async", lambda args, queue: kicked.append(args[0])
    )
    handler = Recorder("test.kick")
    with transaction.atomic():
        message = outbox_enqueue(kind="test.kick", key="kick-1", payload={})
        assert kicked == []  # nothing leaves before COMMIT
    assert kicked == [message.pk]
    assert outbox_deliver(message_id=message.pk) == "succeeded"
    assert handler.in_transaction == [False], "the call must be made with no transaction open"

    from kombu.exceptions import OperationalError

    def broker_down(args, queue):
        raise OperationalError("connection refused")

    monkeypatch.setattr(tasks.outbox_deliver_task, "apply_async", broker_down)
    with transaction.atomic():
        lost = outbox_enqueue(kind="test.kick", key="kick-2", payload={})
    lost.refresh_from_db()
    assert lost.status == OutboxStatus.PENDING
    assert outbox_deliver_due() == {"succeeded": 1}


@pytest.mark.django_db(transaction=True)
def test_a_chained_message_is_written_claimed_and_delivered_here_after_commit(monkeypatch):
    """Inside outbox_chaining a message due now is committed in flight (one attempt, its lease)
    with the change, delivered by this process after the commit, and never sent to the broker."""
    from core import tasks
    from core.outbox import outbox_chaining

    kicked = []
    monkeypatch.setattr(tasks.outbox_deliver_task, "apply_async", lambda *a, **k: kicked.append(a))
    handler = Recorder("test.chain", lease_seconds=40)
    seen_before_commit = []
    with transaction.atomic(), outbox_chaining():
        message = outbox_enqueue(kind="test.chain", key="chain-1", payload={"n": 1})
        seen_before_commit.append(OutboxMessage.objects.get(pk=message.pk))
    row = seen_before_commit[0]
    assert (row.status, row.attempts) == (OutboxStatus.IN_FLIGHT, 1)
    assert row.lease_expires_at == row.created_at + timedelta(seconds=40)
    assert handler.sent == [{"n": 1}]
    assert handler.in_transaction == [False]  # sent with no transaction open
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxStatus.SUCCEEDED, 1)
    assert kicked == []


@pytest.mark.django_db(transaction=True)
def test_a_chained_message_whose_process_died_is_reopened_after_its_lease():
    """The process dies after the commit, before delivering: the lease runs out and the sweep
    puts the message back in line; it is delivered once."""
    from core.outbox import outbox_chaining

    handler = Recorder("test.chain-crash", lease_seconds=30)
    with clock.override(T0):
        with transaction.atomic(), outbox_chaining():
            message = outbox_enqueue(kind="test.chain-crash", key="chain-2", payload={"n": 2})
            transaction.get_connection().run_on_commit.clear()  # dies before delivering
        assert outbox_sweep()["reopened"] == 0
        assert handler.sent == []
        clock.advance_override(31)
        assert outbox_sweep()["reopened"] == 1
        assert outbox_deliver(message_id=message.pk) == "succeeded"
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxStatus.SUCCEEDED, 2)
    assert handler.sent == [{"n": 2}]


def test_a_local_handler_applies_its_effect_in_the_claim_transaction(pinned_clock):
    """No call to make (send=None): one delivery claims the row and applies the effect."""
    applied = []
    outbox_handler_register(
        OutboxHandler(
            kind="test.local",
            send=None,
            on_success=lambda message, result: applied.append((message.pk, result)),
        )
    )
    message = _enqueue("test.local")
    assert outbox_deliver(message_id=message.pk) == "succeeded"
    assert outbox_deliver(message_id=message.pk) == "succeeded"  # duplicate: no second effect
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxStatus.SUCCEEDED, 1)
    assert applied == [(message.pk, {})]


def test_a_local_handler_that_fails_is_counted_and_retried_later(pinned_clock):
    def explode(message, result):
        raise ValueError("no such trip")

    outbox_handler_register(OutboxHandler(kind="test.local-fail", send=None, on_success=explode))
    message = _enqueue("test.local-fail")
    with pytest.raises(ValueError):
        outbox_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 1)
    assert message.next_attempt_at >= T0
    assert message.last_error == "ValueError: no such trip"
