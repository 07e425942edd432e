"""HTTP plumbing: ``ThreadingHTTPServer`` serving the Payment Service paths and the control API.

Order for R→A calls (contract §0.8, §0.10): signature (403) → unknown path (404) → faults and
429 lockouts → content type and JSON (400) → the operation. Faults in phase ``after`` let the
operation happen and lose its answer. Nothing a caller sends can produce a stack trace; a real
internal error answers 500 ``InternalServerException`` and is logged.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
import struct
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from jwo_client import sigv4, wire

from . import control_api, feedback, payment_api
from .connector_calls import ControlError
from .faults import Fault, error_body
from .validation import ApiError, bad_request

log = logging.getLogger("jwo_sim.http")

OPERATIONS = {
    "/v1/adjust/charge": payment_api.adjust,
    "/v1/cancel/charge": payment_api.cancel,
    "/v1/capture/charge": payment_api.capture,
    "/v1/refund": payment_api.refund,
    "/v1/payment/transactional-data": payment_api.transactional_data,
    "/v1/identity/shopper": payment_api.shopper_identity,
    "/v1/feedback/payment-status": feedback.report_payment_status,
}
MAX_BODY = 1024 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "jwo-sim/1.0"
    disable_nagle_algorithm = True  # one answer, no 40 ms delayed-ACK stall
    sim: Any = None  # set on the subclass made by make_server

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.client_address[0], *args)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # plumbing -------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            size = -1
        if size < 0 or size > MAX_BODY:
            raise ApiError(400, {"errorMsg": "BadRequestException"})
        return self.rfile.read(size)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else wire.dumps(body)
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _drop(self, hold_ms: int = 0) -> None:
        """Close with no answer: after ``hold_ms`` (a timeout) or at once (a reset)."""
        if hold_ms:
            time.sleep(hold_ms / 1000)
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    def _handle(self, method: str) -> None:
        path = urlsplit(self.path).path
        try:
            body = self._read_body()
            if path.startswith(control_api.PREFIX + "/") or path == control_api.PREFIX:
                self._control(method, path, body)
            else:
                self._payment(method, path, body)
        except ApiError as exc:
            self._send(exc.status, exc.body, exc.headers)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            log.exception("internal error on %s %s", method, self.path)
            try:
                self._send(500, {"errorMsg": "InternalServerException"})
            except OSError:
                self.close_connection = True

    def _admin_allowed(self) -> bool:
        token = self.sim.options.admin_token
        if token and self.headers.get("X-Sim-Admin-Token") == token:
            return True
        try:
            return ipaddress.ip_address(self.client_address[0]).is_loopback
        except ValueError:
            return False

    def _control(self, method: str, path: str, raw: bytes) -> None:
        if not self._admin_allowed():
            self._send(403, {"error": "control API: loopback only or X-Sim-Admin-Token"})
            return
        try:
            body = wire.loads(raw) if raw.strip() else None
        except ValueError:
            self._send(400, {"error": "body is not JSON"})
            return
        try:
            status, answer = control_api.route(self.sim, method, path, body)
        except ControlError as exc:
            status, answer = exc.status, exc.body
        self._send(status, answer)

    def _payment(self, method: str, path: str, raw: bytes) -> None:
        sim = self.sim
        key_id = "anonymous"
        if sim.options.verify:
            try:
                key_id = sigv4.verify_request(
                    method=method,
                    path=self.path,
                    headers=dict(self.headers.items()),
                    body=raw,
                    keys=sim.options.retailer_keys,
                    region=sim.options.region,
                    now=dt.datetime.now(dt.UTC),
                )
            except sigv4.SignatureError as exc:
                log.warning("403 on %s: %s", path, exc.reason)
                self._send(403, {"errorMsg": "AccessDeniedException"})
                return
        if method != "POST" or path not in OPERATIONS:
            self._send(404, {"errorMsg": "NotFoundException"})
            return
        sim.run_due()
        with sim.lock:
            fault = sim.faults.lockout_check(key_id, path) or sim.faults.pick(path)
        if fault and fault.phase == "before":
            self._fault(fault, key_id, path)
            return
        try:
            status, answer, headers = self._operate(path, raw)
        except ApiError as exc:
            status, answer, headers = exc.status, exc.body, exc.headers
        self._record(path, raw, status, answer, fault)
        if fault:
            self._fault(fault, key_id, path)
            return
        delay = sim.faults.delay_ms(path)
        if delay:
            time.sleep(delay / 1000)
        if isinstance(answer, dict) and answer:
            with sim.lock:
                extra = sim.faults.extra_fields(path)
            if extra:
                answer = {**answer, "simExtra": extra}
        self._send(status, answer, headers)

    def _operate(self, path: str, raw: bytes) -> tuple[int, Any, dict]:
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            raise bad_request([{"field": "", "problem": "BAD_FORMAT", "reason": "content type"}])
        if not raw.strip():
            raise bad_request([{"field": "", "problem": "MISSING"}])
        try:
            body = wire.loads(raw)
        except ValueError as exc:
            raise bad_request([{"field": "", "problem": "BAD_FORMAT"}]) from exc
        if not isinstance(body, dict):
            raise bad_request([{"field": "", "problem": "WRONG_TYPE"}])
        with self.sim.lock:
            status, answer = OPERATIONS[path](self.sim, body)
        return status, answer, {}

    def _record(self, path: str, raw: bytes, status: int, answer: Any, fault: Fault | None) -> None:
        try:
            body = wire.loads(raw)
            trip_id = body.get("shoppingTripId") if isinstance(body, dict) else None
        except ValueError:
            return
        if not isinstance(trip_id, str):
            return
        sim = self.sim
        with sim.lock:
            trip = sim.database.get_trip(trip_id)
            if trip is None:
                return
            sim.history(
                trip,
                "call",
                sim.now(),
                path=path,
                request=body,
                status=status,
                response=answer,
                fault=fault.describe() if fault else None,
            )
            sim.database.put_trip(trip)

    def _fault(self, fault: Fault, key_id: str, path: str) -> None:
        if fault.kind == "timeout":
            self._drop(fault.hold_ms)
            return
        if fault.kind == "reset":
            self._drop()
            return
        body, headers = error_body(fault.status)
        if fault.status == 429:
            retry_after = fault.retry_after or int(headers["Retry-After"])
            headers["Retry-After"] = str(retry_after)
            with self.sim.lock:
                if fault.retry_after is None or fault.retry_after == 600:
                    self.sim.faults.note_429(key_id, path, retry_after)
        self._send(fault.status, body, headers)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def make_server(sim: Any, host: str, port: int) -> Server:
    handler = type("BoundHandler", (Handler,), {"sim": sim})
    return Server((host, port), handler)
