"""README command one: ``bin/demo`` runs the whole product with demo data and no service.

Runs the demo launcher (embedded PostgreSQL and Redis, simulator, web, worker, beat), plays the
demo scenario through the simulator and checks that our connectors decided and trips settled.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_demo_runs_plays_trips_and_prints_urls_and_logins(tmp_path):
    web_port, sim_port = _free_port(), _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "CELERY_", "JWO_", "AWS_"))
    }
    env["DEMO_VAR_DIR"] = str(tmp_path / "demo")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "demo.launch",
            "--once",
            "--web-port",
            str(web_port),
            "--sim-port",
            str(sim_port),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert f"http://127.0.0.1:{web_port}/admin/" in result.stdout
    assert "jwo-demo-finance" in result.stdout
    assert "'RETAILER': 9" in result.stdout, output[-3000:]
    assert "FALLBACK" not in result.stdout
    books = next(line for line in result.stdout.splitlines() if "Trips in our books" in line)
    assert "settled" in books and "released" in books and "bad_cart" in books
