"""Real processes for the multi-process tests: Celery workers and racers, all on the test
database, the test Redis and the running simulator."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from .conftest import AWS_ENV

ROOT = Path(__file__).resolve().parents[2]
QUEUES = "payments,outbox,default,batch"


def test_database_url() -> str:
    params = connection.settings_dict
    user = params.get("USER") or "postgres"
    if params.get("PASSWORD"):
        user = f"{user}:{params['PASSWORD']}"
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{params['NAME']}"


def process_env(sim, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(AWS_ENV)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "payments.tests.worker_settings",
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "JWO_PAYMENT_BASE_URL": sim.base_url,
            "JWO_CLOCK_SOURCE": f"{sim.base_url}/_sim/v1/clock",
            "LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    if not path.exists():
        return []
    return [int(child) for child in path.read_text().split()]


class CeleryWorker:
    """``celery worker`` in its own process group; killable child by child or whole."""

    def __init__(self, sim, log_dir: Path, *, name: str, concurrency: int = 2, **env: str):
        self.sim = sim
        self.name = name
        self.concurrency = concurrency
        self.log_path = Path(log_dir) / f"worker-{name}.log"
        self.env = process_env(sim, **env)
        self.process: subprocess.Popen | None = None

    def start(self, *, wait: bool = True) -> CeleryWorker:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "jwo_store",
                "worker",
                "-Q",
                QUEUES,
                "-c",
                str(self.concurrency),
                "-P",
                "prefork",
                "-n",
                f"{self.name}@%h",
                "-l",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if b" ready." in self.log_path.read_bytes():
                return
            if self.process.poll() is not None:
                raise RuntimeError(self.log_path.read_text()[-3000:])
            time.sleep(0.1)
        raise RuntimeError(f"worker {self.name} not ready: {self.log_path.read_text()[-3000:]}")

    def pool_children(self) -> list[int]:
        return children_of(self.process.pid)

    def kill_pool_child(self) -> int:
        child = self.pool_children()[0]
        os.kill(child, signal.SIGKILL)
        return child

    def kill(self) -> None:
        """SIGKILL the whole worker: main process and pool, no warm shutdown."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._log.close()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # warm shutdown: the main process stops its pool
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self._log.close()


def start_racer(sim, log_dir: Path, *, mode: str, seconds: float, start_at: float, name: str):
    """``python -m payments.tests.racer``: a separate process racing the workers."""
    log = open(Path(log_dir) / f"racer-{name}.log", "ab")  # noqa: SIM115 - owned by the Popen
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "payments.tests.racer",
            "--mode",
            mode,
            "--seconds",
            str(seconds),
            "--start-at",
            str(start_at),
        ],
        cwd=ROOT,
        env=process_env(sim),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
