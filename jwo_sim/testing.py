"""Run a simulator subprocess from tests: ``RunningSimulator``.

    with RunningSimulator(tmpdir=tmp_path) as sim:
        sim.set_store("STORE-001", retailerBaseUrl="http://127.0.0.1:8000")
        trip = sim.gate("STORE-001", "shopper-001")
        sim.exit(trip["shoppingTripId"], cart_items=[...])
        sim.advance(46 * 3600)
        assert sim.trip(trip["shoppingTripId"])["state"] == "EXPIRED"

``call(path, body)`` sends a SigV4-signed Payment Service request with the first retailer key.
No Django, no pytest dependency.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from jwo_client import sigv4, wire

DEFAULT_RETAILER_KEYS = {"AKIDRETAILERTEST": "retailer-test-secret"}
DEFAULT_SIGNING_KEY = ("AKIDSIMULATORTEST", "simulator-test-secret")


class SimulatorError(RuntimeError):
    pass


class RunningSimulator:
    def __init__(
        self,
        port: int = 0,
        retailer_keys: dict[str, str] | None = None,
        signing_key: tuple[str, str] | None = DEFAULT_SIGNING_KEY,
        tmpdir: str | os.PathLike | None = None,
        seed: int = 0,
        verify: bool = True,
        region: str = "us-east-1",
        extra_env: dict[str, str] | None = None,
        startup_timeout: float = 20.0,
    ):
        self.port = port
        self.retailer_keys = dict(retailer_keys or DEFAULT_RETAILER_KEYS)
        self.signing_key = signing_key
        self._own_tmp = None
        if tmpdir is None:
            self._own_tmp = tempfile.TemporaryDirectory(prefix="jwo_sim_")
            tmpdir = self._own_tmp.name
        self.tmpdir = Path(tmpdir)
        self.seed, self.verify, self.region = seed, verify, region
        self.extra_env = extra_env or {}
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None
        self.base_url = ""
        self.csv_dir = self.tmpdir / "csv"
        self.db_path = self.tmpdir / "sim.sqlite3"
        self.log_path = self.tmpdir / "sim.log"
        self.client = httpx.Client(timeout=30)

    # lifecycle --------------------------------------------------------------------------------
    def start(self) -> RunningSimulator:
        ready = self.tmpdir / "ready.json"
        if ready.exists():
            ready.unlink()
        env = {
            **os.environ,
            "JWO_AWS_REGION": self.region,
            "SIM_RETAILER_KEYS": ",".join(f"{k}:{v}" for k, v in self.retailer_keys.items()),
            **self.extra_env,
        }
        env.pop("SIM_SIGNING_KEY", None)
        if self.signing_key:
            env["SIM_SIGNING_KEY"] = f"{self.signing_key[0]}:{self.signing_key[1]}"
        command = [
            sys.executable,
            "-m",
            "jwo_sim",
            "serve",
            "--port",
            str(self.port),
            "--db",
            str(self.db_path),
            "--seed",
            str(self.seed),
            "--csv-dir",
            str(self.csv_dir),
            "--ready-file",
            str(ready),
        ]
        if not self.verify:
            command.append("--no-verify")
        root = Path(__file__).resolve().parent.parent
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            command,
            cwd=root,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + self.startup_timeout
        while not ready.exists():
            if self.process.poll() is not None:
                raise SimulatorError(f"simulator exited: {self.log_path.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise SimulatorError("simulator did not start in time")
            time.sleep(0.05)
        self.port = wire.loads(ready.read_bytes())["port"]
        self.base_url = f"http://127.0.0.1:{self.port}"
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()
        self.client.close()
        if self._own_tmp:
            self._own_tmp.cleanup()

    def __enter__(self) -> RunningSimulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # control API ------------------------------------------------------------------------------
    def control(self, method: str, path: str, json: Any = None, *, check: bool = True) -> Any:
        content = None if json is None else wire.dumps(json)
        response = self.client.request(
            method,
            f"{self.base_url}/_sim/v1{path}",
            content=content,
            headers={"Content-Type": "application/json"},
        )
        body = wire.loads(response.content) if response.content else None
        if check and response.status_code >= 400:
            raise SimulatorError(f"{method} {path} -> {response.status_code} {body}")
        return body

    def set_store(self, store_id: str, **config: Any) -> dict:
        return self.control("PUT", f"/stores/{store_id}", config)

    def set_shopper(self, shopper_id: str, **profile: Any) -> dict:
        return self.control("PUT", f"/shoppers/{shopper_id}", profile)

    def gate(self, store_id: str, shopper_id: str, **extra: Any) -> dict:
        return self.control(
            "POST", "/gate", {"storeId": store_id, "shopperIdentityId": shopper_id, **extra}
        )

    def exit(self, trip_id: str, cart_items: list[dict] | None = None, **extra: Any) -> dict:
        return self.control(
            "POST", f"/trips/{trip_id}/exit", {"cartItems": cart_items or [], **extra}
        )

    def trip(self, trip_id: str) -> dict:
        return self.control("GET", f"/trips/{trip_id}")

    def clock(self) -> dict:
        return self.control("GET", "/clock")

    def advance(self, seconds: float) -> dict:
        return self.control("POST", "/clock", {"advanceSeconds": seconds})

    def set_clock(self, when: str, mode: str = "frozen") -> dict:
        return self.control("POST", "/clock", {"setTo": when, "mode": mode})

    def faults(self, config: dict | None = None, **more: Any) -> dict:
        return self.control("PUT", "/faults", {**(config or {}), **more})

    def balances(self, shopper_id: str) -> list[dict]:
        return self.control("GET", f"/balances/{shopper_id}")["balances"]

    def flush_csv(self, store_id: str | None = None) -> list[str]:
        body = {"storeId": store_id} if store_id else {}
        return self.control("POST", "/csv/flush", body)["files"]

    def dead_letters(self) -> list[dict]:
        return self.control("GET", "/events/dead-letter")["events"]

    def drain(self) -> Any:
        return self.control("POST", "/drain", {})

    def reset(self, seed: int | None = None) -> Any:
        return self.control("POST", "/reset", {} if seed is None else {"seed": seed})

    # Payment Service calls, as the retailer would make them -----------------------------------
    def call(
        self,
        path: str,
        body: Any,
        *,
        key: tuple[str, str] | None = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        sign: bool = True,
        timeout: float = 15,
    ) -> httpx.Response:
        content = raw if raw is not None else wire.dumps(body)
        url = f"{self.base_url}{path}"
        send = {"Content-Type": "application/json", **(headers or {})}
        if sign:
            key_id, secret = key or next(iter(self.retailer_keys.items()))
            send = sigv4.sign_request(
                method="POST",
                url=url,
                body=content,
                credentials=sigv4.Credentials(key_id, secret),
                region=self.region,
                headers=send,
            )
        return self.client.post(url, content=content, headers=send, timeout=timeout)
