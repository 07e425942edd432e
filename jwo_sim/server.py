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
import re
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
READ_TIMEOUT_SECONDS = 30  # a caller that stalls mid-request loses its connection, not a thread
_DIGITS = re.compile(r"[0-9]{1,12}")
_HEX = re.compile(r"[0-9a-fA-F]{1,8}")


class Unreadable(Exception):
    """The body cannot be read safely (too large, bad framing): answered 4xx, connection closed."""

    def __init__(self, problem: str, reason: str):
        super().__init__(reason)
        self.problem = problem
        self.reason = reason


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "jwo-sim/1.0"
    disable_nagle_algorithm = True  # one answer, no 40 ms delayed-ACK stall
    timeout = READ_TIMEOUT_SECONDS
    default_request_version = "HTTP/1.1"  # even a garbled request line gets a status line
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

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_OPTIONS(self) -> None:
        self._handle("OPTIONS")

    def do_HEAD(self) -> None:
        self.close_connection = True  # no body follows: let the caller see the end
        self._handle("HEAD")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors found by ``http.server`` itself (bad request line, headers, unknown method):
        a JSON body like every other answer, never the default HTML page."""
        if code == 501:  # a method http.server has no handler for
            code = 405
        error = "InternalServerException" if code >= 500 else "BadRequestException"
        payload = wire.dumps({"errorMsg": error})
        try:
            self.send_response(code, message)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Connection", "close")
            self.end_headers()
            if getattr(self, "command", None) != "HEAD":
                self.wfile.write(payload)
        except OSError:
            pass
        self.close_connection = True

    # plumbing -------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        """The request body per RFC 9112 §6: chunked, or Content-Length, or empty."""
        encodings = self.headers.get_all("Transfer-Encoding") or []
        lengths = self.headers.get_all("Content-Length") or []
        if encodings:
            if lengths:
                raise Unreadable("BAD_FORMAT", "both Transfer-Encoding and Content-Length")
            if [e.strip().lower() for e in ",".join(encodings).split(",")] != ["chunked"]:
                raise Unreadable("BAD_FORMAT", "unsupported Transfer-Encoding")
            return self._read_chunked()
        if not lengths:
            return b""
        values = {value.strip() for value in lengths}
        if len(values) != 1:
            raise Unreadable("BAD_FORMAT", "conflicting Content-Length headers")
        text = values.pop()
        if not _DIGITS.fullmatch(text):
            raise Unreadable("BAD_FORMAT", "malformed Content-Length")
        size = int(text)
        if size > MAX_BODY:
            raise Unreadable("TOO_LONG", f"body over {MAX_BODY} bytes")
        body = self.rfile.read(size)
        if len(body) != size:
            raise ConnectionError("body ended early")
        return body

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line.endswith(b"\n"):
                raise Unreadable("BAD_FORMAT", "malformed chunk size line")
            size_text = line.split(b";", 1)[0].strip().decode("ascii", "replace")
            if not _HEX.fullmatch(size_text):
                raise Unreadable("BAD_FORMAT", "malformed chunk size")
            size = int(size_text, 16)
            if size == 0:
                break
            total += size
            if total > MAX_BODY:
                raise Unreadable("TOO_LONG", f"body over {MAX_BODY} bytes")
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                raise Unreadable("BAD_FORMAT", "malformed chunk")
            parts.append(chunk)
        for _ in range(64):  # trailer section, ended by an empty line
            trailer = self.rfile.readline(8192)
            if trailer in (b"\r\n", b"\n", b""):
                return b"".join(parts)
        raise Unreadable("BAD_FORMAT", "too many trailer lines")

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else wire.dumps(body)
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
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

    def _is_control(self, path: str) -> bool:
        return path.startswith(control_api.PREFIX + "/") or path == control_api.PREFIX

    def _handle(self, method: str) -> None:
        path = urlsplit(self.path).path
        try:
            try:
                body = self._read_body()
            except Unreadable as exc:
                self._refuse_unreadable(path, exc)
                return
            if self._is_control(path):
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

    def _refuse_unreadable(self, path: str, exc: Unreadable) -> None:
        """A body not read: 403 if the signature headers alone already fail (§0.7 runs first),
        else 400; the connection is closed since unread bytes may follow."""
        close = {"Connection": "close"}
        log.info("unreadable body on %s: %s", path, exc.reason)
        if self._is_control(path):
            self._send(400, {"error": f"unreadable body: {exc.reason}"}, close)
            return
        if self.sim.options.verify:
            try:
                sigv4.verify_headers(
                    headers=dict(self.headers.items()),
                    keys=self.sim.options.retailer_keys,
                    region=self.sim.options.region,
                    now=dt.datetime.now(dt.UTC),
                )
            except sigv4.SignatureError:
                self._send(403, {"errorMsg": "AccessDeniedException"}, close)
                return
        problem = [{"field": "", "problem": exc.problem}]
        self._send(400, {"errorMsg": "BadRequestException", "details": problem}, close)

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
        with sim.lock:
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
            if not fault.echo:
                with self.sim.lock:
                    self.sim.faults.note_429(key_id, path, retry_after)
        self._send(fault.status, body, headers)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def make_server(sim: Any, host: str, port: int) -> Server:
    handler = type("BoundHandler", (Handler,), {"sim": sim})
    return Server((host, port), handler)
