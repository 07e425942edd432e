"""The Celery wiring with a real worker process: commit → broker → worker → database."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from core.models import OutboxMessage, OutboxStatus
from core.selfcheck import outbox_ping_enqueue

ROOT = Path(__file__).resolve().parents[2]


def test_celery_is_configured_for_payments():
    from jwo_store.celery import app

    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    visibility = conf.broker_transport_options["visibility_timeout"]
    assert conf.task_soft_time_limit < conf.task_time_limit < visibility
    queues = {queue.name for queue in conf.task_queues}
    assert {"realtime", "payments", "outbox", "batch"} <= queues
    assert conf.task_routes["reporting.*"] == {"queue": "batch"}
    assert conf.task_routes["gate.*"] == {"queue": "realtime"}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_an_outbox_message_after_commit():
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "jwo_store.settings.test",
            # the worker must see the test database, not the development one
            "DATABASE_URL": _test_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        }
    )
    subprocess.run(
        [sys.executable, "-m", "celery", "-A", "jwo_store", "purge", "-f", "-Q", "outbox"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "jwo_store",
            "worker",
            "-Q",
            "outbox",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-heartbeat",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        message = outbox_ping_enqueue()
        deadline = time.monotonic() + 45
        status = None
        while time.monotonic() < deadline:
            status = OutboxMessage.objects.get(pk=message.pk).status
            if status == OutboxStatus.SUCCEEDED:
                break
            time.sleep(0.2)
        assert status == OutboxStatus.SUCCEEDED
        delivered = OutboxMessage.objects.get(pk=message.pk)
        assert delivered.attempts == 1
        assert str(worker.pid) in delivered.result["worker"]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def _test_database_url() -> str:
    params = connection.settings_dict
    user = params.get("USER") or "postgres"
    if params.get("PASSWORD"):
        user = f"{user}:{params['PASSWORD']}"
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{params['NAME']}"
