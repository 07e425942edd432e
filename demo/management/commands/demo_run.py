"""Run the whole product locally with demo data: ``bin/demo`` calls this.

Starts the Amazon simulator, the web server, a Celery worker and beat (on the embedded
PostgreSQL and Redis that demo/launch.py started), seeds a store and staff logins, plays a few
shopping trips through the simulator, prints the URLs and logins, and waits for Ctrl-C.
``--once`` stops after the trips (used by the end-to-end test of the demo).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from demo.seed import DEMO_LOGINS, DEMO_STORE_ID, demo_seed

AMAZON_KEY = ("AKIDAMAZONDEMO", "demo-amazon-signing-secret")
RETAILER_KEY = ("AKIDRETAILERDEMO", "demo-retailer-signing-secret")
EVENT_KEY = "demo-event-api-key"
ROOT = Path(__file__).resolve().parents[3]


class Command(BaseCommand):
    help = "Run web, worker, beat and the Amazon simulator with demo data."

    def add_arguments(self, parser):
        parser.add_argument(
            "--web-port", type=int, default=int(os.environ.get("DEMO_WEB_PORT", 8000))
        )
        parser.add_argument(
            "--sim-port", type=int, default=int(os.environ.get("DEMO_SIM_PORT", 8790))
        )
        parser.add_argument("--once", action="store_true", help="stop after the demo trips")
        parser.add_argument("--scenario", default=str(ROOT / "jwo_sim" / "scenarios" / "demo.json"))

    def handle(self, *args, web_port, sim_port, once, scenario, **options):
        if os.environ.get("DJANGO_SETTINGS_MODULE") != "jwo_store.settings.demo":
            raise CommandError("demo_run runs with jwo_store.settings.demo (use bin/demo)")
        var = Path(settings.DEMO_VAR_DIR)
        var.mkdir(parents=True, exist_ok=True)
        web_url = f"http://127.0.0.1:{web_port}"
        sim_url = f"http://127.0.0.1:{sim_port}"
        env = self._child_environment(web_url, sim_url)
        os.environ.update({k: v for k, v in env.items() if k.startswith(("JWO_", "AWS_"))})

        call_command("migrate", verbosity=0)
        demo_seed()
        children: list[subprocess.Popen] = []
        try:
            children.append(self._start_simulator(sim_port, var, env))
            self._wait_for(f"{sim_url}/_sim/v1/clock", "simulator")
            self._configure_simulator(sim_url, web_url, var)
            children.append(self._start_web(web_port, env))
            children.append(
                self._start_celery(
                    [
                        "worker",
                        "--pool",
                        "threads",
                        "--concurrency",
                        "4",
                        "-Q",
                        "realtime,payments,outbox,batch,default",
                    ],
                    env,
                    var,
                )
            )
            children.append(
                self._start_celery(["beat", "-s", str(var / "celerybeat-schedule")], env, var)
            )
            self._wait_for(f"{web_url}/healthz", "web server")
            summary = self._drive(scenario, sim_url, web_url, var)
            states = self._wait_for_settlement()
            self._print_banner(web_url, sim_url, summary, states)
            if not once:
                signal.sigwait({signal.SIGINT, signal.SIGTERM})
        finally:
            for child in reversed(children):
                child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()

    def _child_environment(self, web_url: str, sim_url: str) -> dict:
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "jwo_store.settings.demo",
                "JWO_PAYMENT_BASE_URL": sim_url,
                "JWO_CLOCK_SOURCE": f"{sim_url}/_sim/v1/clock",
                "JWO_INBOUND_KEYS": f"{AMAZON_KEY[0]}:{AMAZON_KEY[1]}",
                "JWO_EVENT_API_KEYS": EVENT_KEY,
                "AWS_ACCESS_KEY_ID": RETAILER_KEY[0],
                "AWS_SECRET_ACCESS_KEY": RETAILER_KEY[1],
                "SIM_RETAILER_KEYS": f"{RETAILER_KEY[0]}:{RETAILER_KEY[1]}",
                "SIM_SIGNING_KEY": f"{AMAZON_KEY[0]}:{AMAZON_KEY[1]}",
                "LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.pop("AWS_SESSION_TOKEN", None)
        return env

    def _log(self, var: Path, name: str):
        return open(var / f"{name}.log", "ab")

    def _start_simulator(self, port: int, var: Path, env: dict) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jwo_sim",
                "serve",
                "--port",
                str(port),
                "--db",
                str(var / "simulator.sqlite3"),
                "--csv-dir",
                str(var / "intraday"),
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log(var, "simulator"),
            stderr=subprocess.STDOUT,
        )

    def _start_web(self, port: int, env: dict) -> subprocess.Popen:
        var = Path(settings.DEMO_VAR_DIR)
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "jwo_store.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "8",
                "--timeout",
                "60",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log(var, "web"),
            stderr=subprocess.STDOUT,
        )

    def _start_celery(self, arguments: list[str], env: dict, var: Path) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "jwo_store",
                *arguments,
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._log(var, f"celery-{arguments[0]}"),
            stderr=subprocess.STDOUT,
        )

    def _wait_for(self, url: str, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=2).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise CommandError(f"the {what} did not start; see var/demo/*.log")

    def _configure_simulator(self, sim_url: str, web_url: str, var: Path) -> None:
        config = {
            "preauthAmount": 50.00,
            "currency": "USD",
            "retailerBaseUrl": web_url,
            "eventEndpointUrl": f"{web_url}/v1/events/jwo",
            "eventApiKey": EVENT_KEY,
            "csvTarget": str(var / "intraday"),
        }
        response = httpx.put(f"{sim_url}/_sim/v1/stores/{DEMO_STORE_ID}", json=config, timeout=5)
        response.raise_for_status()

    def _drive(self, scenario: str, sim_url: str, web_url: str, var: Path) -> dict:
        out = var / "demo-trips.json"
        env = dict(os.environ, JWO_RETAILER_URL=web_url, JWO_EVENT_API_KEY=EVENT_KEY)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "jwo_sim",
                "drive",
                scenario,
                "--sim-url",
                sim_url,
                "--out",
                str(out),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0 or not out.exists():
            self.stderr.write(f"demo trips could not be played: {result.stderr[-500:]}")
            return {}
        return json.loads(out.read_text())

    def _wait_for_settlement(self, timeout: float = 90.0) -> dict[str, int]:
        """Wait until every demo trip is settled or waits for staff; return trips per state."""
        from django.db.models import Count

        from trips.enums import TERMINAL_STATES, TripState
        from trips.models import ShoppingTrip

        waiting_for_staff = {TripState.BAD_CART, TripState.NEEDS_REVIEW}
        deadline = time.monotonic() + timeout
        while True:
            counts = dict(
                ShoppingTrip.objects.values_list("state").annotate(n=Count("pk")).order_by()
            )
            busy = {state for state in counts if state not in TERMINAL_STATES | waiting_for_staff}
            if not busy or time.monotonic() > deadline:
                return counts
            time.sleep(0.5)

    def _print_banner(self, web_url: str, sim_url: str, summary: dict, states: dict) -> None:
        trips = summary.get("trips", "?")
        gate = summary.get("gate", {}).get("bySource", {})
        outcome = ", ".join(f"{count} {state.lower()}" for state, count in sorted(states.items()))
        logins = "\n".join(
            f"    {username:<9} {password:<18} {role or 'superuser'}"
            for username, password, role in DEMO_LOGINS
        )
        self.stdout.write(
            f"""
jwo_store demo is running (store {DEMO_STORE_ID}, {trips} simulated trips played).
  Gate decisions by source: {gate or "-"}
  Trips in our books: {outcome or "-"}

  Admin (staff, finance, auditors)  {web_url}/admin/
  OpenAPI schema                    {web_url}/api/schema/
  Health / readiness                {web_url}/healthz   {web_url}/readyz
  Amazon simulator control API      {sim_url}/_sim/v1/clock   (see docs/simulator.md)

  Logins (demo only):
{logins}

  Logs: var/demo/*.log    Stop: Ctrl-C
"""
        )
