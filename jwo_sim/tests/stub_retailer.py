"""A small stand-in for the retailer app's connectors, for the simulator's own tests.

It verifies the simulator's SigV4 signature on ``/v1/fraudandabuse/shopperauthorization`` and
``/v1/order/purchases`` and the ``x-api-key`` on ``/v1/events/jwo``, records every request,
and answers what the test programs (``fa``, ``order``, ``event_statuses``).

An answer is ``(status, body)``, ``(status, body, delay_s)`` or ``(status, body, delay_s,
Trickle(...))``: a trickled answer is written a byte at a time, to prove that the simulator's
deadlines are overall deadlines and not per-read timeouts.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from jwo_client import sigv4, wire

EVENT_KEY = "event-key-1"


@dataclass(frozen=True)
class Trickle:
    """Write the answer slowly: ``every`` seconds between bytes, from the status line on
    (``head=True``) or only in the body."""

    every: float
    head: bool = False


Answer = tuple[int, Any] | tuple[int, Any, float] | tuple[int, Any, float, Trickle]


class StubRetailer:
    def __init__(self, signing_keys: dict[str, str], region: str = "us-east-1"):
        self.signing_keys = signing_keys
        self.region = region
        self.lock = threading.Lock()
        self.reset()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, answer, *rest = stub.handle(self.path, dict(self.headers.items()), body)
                if rest and rest[0]:
                    time.sleep(rest[0])
                trickle = rest[1] if len(rest) > 1 else None
                payload = b"" if answer is None else wire.dumps(answer)
                head = (
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n"
                ).encode()
                try:
                    if trickle is None:
                        self.wfile.write(head + payload)
                        return
                    if not trickle.head:
                        self.wfile.write(head)
                    for byte in (head if trickle.head else b"") + payload:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(trickle.every)
                except OSError:
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def reset(self) -> None:
        with getattr(self, "lock", threading.Lock()):
            self.fa: Callable[[dict], Answer] = self.default_fa
            self.order: Callable[[dict], Answer] = self.default_order
            self.event_statuses: list[int] = []
            self.event_trickle: Trickle | None = None
            self.fa_requests: list[dict] = []
            self.order_requests: list[dict] = []
            self.events: list[dict] = []
            self.event_attempts: list[tuple[int, dict]] = []
            self.auth_failures: list[str] = []

    @staticmethod
    def default_fa(request: dict) -> Answer:
        advice = request["shopperInteraction"]["recommendation"]
        answer = {"shopperAuthorized": advice["shopperAuthorized"]}
        if advice.get("authorizationConditions"):
            answer["authorizationConditions"] = advice["authorizationConditions"]
        if advice.get("shopperRisks"):
            answer["shopperRisks"] = advice["shopperRisks"]
        return 200, answer

    @staticmethod
    def default_order(request: dict) -> Answer:
        if not request["cartItems"]:
            return 201, {"purchaseId": ""}
        return 201, {"purchaseId": f"P-{request['idempotentShoppingTripId'][:8]}"}

    def handle(self, path: str, headers: dict, body: bytes) -> Answer:
        if path == "/v1/events/jwo":
            lowered = {k.lower(): v for k, v in headers.items()}
            if lowered.get("x-api-key") != EVENT_KEY:
                return 401, {"errorMsg": "UnauthorizedException"}
            envelope = wire.loads(body)
            with self.lock:
                status = self.event_statuses.pop(0) if self.event_statuses else 200
                self.event_attempts.append((status, envelope))
                if status == 200:
                    self.events.append(envelope)
            answer = {"status": "ACCEPTED"} if status == 200 else {"errorMsg": "x"}
            if self.event_trickle is not None:
                return status, answer, 0, self.event_trickle
            return status, answer
        try:
            sigv4.verify_request(
                method="POST",
                path=path,
                headers=headers,
                body=body,
                keys=self.signing_keys,
                region=self.region,
                now=dt.datetime.now(dt.UTC),
            )
        except sigv4.SignatureError as exc:
            with self.lock:
                self.auth_failures.append(exc.reason)
            return 403, {"errorMsg": "AccessDeniedException"}
        request = wire.loads(body)
        if path == "/v1/fraudandabuse/shopperauthorization":
            with self.lock:
                self.fa_requests.append(request)
            return self.fa(request)
        if path == "/v1/order/purchases":
            with self.lock:
                self.order_requests.append(request)
            return self.order(request)
        return 404, {"errorMsg": "NotFound"}

    def event_types(self, trip_id: str | None = None) -> list[str]:
        with self.lock:
            return [
                e["detail"]["eventType"]
                for e in self.events
                if trip_id is None or e["detail"]["shoppingTripId"] == trip_id
            ]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
