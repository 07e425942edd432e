"""A small HTTP/1.1 client whose timeout is an overall deadline, for the simulator's own calls.

Amazon waits 2 s for Shopper Authorization (contract §2.3), 10 s for Create Purchases (§1.6) and
5 s for an event delivery (§5). Those are deadlines for the whole exchange: connecting, sending,
and reading the status line, headers and body. Common clients apply their timeout to each socket
operation, so a retailer that trickles its answer a byte at a time would hold them far longer.
Here every socket operation gets only the time left, one request per connection.
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_HEAD = 64 * 1024
MAX_BODY = 4 * 1024 * 1024


class DeadlineExceeded(Exception):
    """No complete answer before the deadline."""


class BadResponse(Exception):
    """The peer answered something that is not an HTTP/1.x response."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; a repeated header keeps its last value
    content: bytes


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> Response:
    """POST ``body`` to ``url``; the whole exchange finishes within ``timeout`` seconds or raises
    ``DeadlineExceeded``. Connection problems raise ``OSError``; garbage raises ``BadResponse``."""
    end = time.monotonic() + timeout
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadResponse(f"unsupported URL {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = _request_bytes(parts, target, body, headers)
    sock = _connect(parts.hostname, port, parts.scheme == "https", end)
    try:
        _send(sock, request, end)
        return _read_response(sock, end)
    finally:
        sock.close()


def _left(end: float) -> float:
    remaining = end - time.monotonic()
    if remaining <= 0:
        raise DeadlineExceeded("deadline reached")
    return remaining


def _connect(host: str, port: int, tls: bool, end: float) -> socket.socket:
    try:
        sock = socket.create_connection((host, port), timeout=_left(end))
    except TimeoutError as error:
        raise DeadlineExceeded("connect") from error
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if not tls:
        return sock
    try:
        sock.settimeout(_left(end))
        return ssl.create_default_context().wrap_socket(sock, server_hostname=host)
    except TimeoutError as error:
        sock.close()
        raise DeadlineExceeded("TLS handshake") from error
    except BaseException:
        sock.close()
        raise


def _request_bytes(parts, target: str, body: bytes, headers: dict[str, str]) -> bytes:
    names = {name.lower() for name in headers}
    lines = [f"POST {target} HTTP/1.1"]
    if "host" not in names:
        lines.append(f"Host: {parts.netloc}")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    if any(ch in line for line in lines for ch in "\r\n"):
        raise BadResponse("header values must not contain line breaks")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _send(sock: socket.socket, data: bytes, end: float) -> None:
    try:
        sock.settimeout(_left(end))
        sock.sendall(data)  # since Python 3.5 the timeout bounds the whole sendall
    except TimeoutError as error:
        raise DeadlineExceeded("send") from error


class _Reader:
    def __init__(self, sock: socket.socket, end: float):
        self.sock, self.end, self.buffer, self.eof = sock, end, b"", False

    def fill(self) -> None:
        if self.eof:
            raise BadResponse("connection closed before the answer was complete")
        try:
            self.sock.settimeout(_left(self.end))
            chunk = self.sock.recv(65536)
        except TimeoutError as error:
            raise DeadlineExceeded("read") from error
        if not chunk:
            self.eof = True
        self.buffer += chunk

    def until(self, marker: bytes, limit: int) -> bytes:
        while marker not in self.buffer:
            if len(self.buffer) > limit:
                raise BadResponse("answer head too long")
            self.fill()
        found, _, self.buffer = self.buffer.partition(marker)
        return found

    def take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self.fill()
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def rest(self) -> bytes:
        while not self.eof:
            if len(self.buffer) > MAX_BODY:
                raise BadResponse("answer body too long")
            self.fill()
        return self.buffer


def _read_response(sock: socket.socket, end: float) -> Response:
    reader = _Reader(sock, end)
    while True:
        status, headers = _parse_head(reader.until(b"\r\n\r\n", MAX_HEAD))
        if status >= 200:
            break  # 1xx interim answers (100 Continue) are skipped
    if "chunked" in headers.get("transfer-encoding", "").lower():
        content = _read_chunked(reader)
    elif "content-length" in headers:
        length = headers["content-length"].strip()
        if not length.isascii() or not length.isdigit() or int(length) > MAX_BODY:
            raise BadResponse("bad Content-Length")
        content = reader.take(int(length))
    elif status in (204, 304):
        content = b""
    else:
        content = reader.rest()
    return Response(status, headers, content)


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not (code.isascii() and code.isdigit()):
        raise BadResponse(f"bad status line {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise BadResponse("bad header line")
        headers[name.strip().lower()] = value.strip()
    return int(code), headers


def _read_chunked(reader: _Reader) -> bytes:
    parts: list[bytes] = []
    total = 0
    while True:
        size_text = reader.until(b"\r\n", 1024).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError as error:
            raise BadResponse("bad chunk size") from error
        if size == 0:
            break
        total += size
        if total > MAX_BODY:
            raise BadResponse("answer body too long")
        parts.append(reader.take(size))
        if reader.take(2) != b"\r\n":
            raise BadResponse("bad chunk end")
    while reader.until(b"\r\n", MAX_HEAD):  # trailers, up to the empty line
        pass
    return b"".join(parts)
