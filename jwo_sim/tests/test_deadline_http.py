"""The simulator's deadline client against scripted raw HTTP servers: every framing a retailer's
server may use is read, garbage is a ``BadResponse``, and the deadline covers the whole exchange
(contract §1.6, §2.3, §5)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from jwo_sim import deadline_http


class RawServer:
    """Accepts one connection at a time, reads the request head and body, writes ``script``."""

    def __init__(self, script: list[tuple[float, bytes]]):
        self.script = script
        self.requests: list[bytes] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1/order/purchases"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            while len(body) < length:
                body += conn.recv(65536)
            self.requests.append(head + b"\r\n\r\n" + body)
            try:
                for pause, chunk in self.script:
                    time.sleep(pause)
                    conn.sendall(chunk)
            except OSError:
                pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def serve():
    servers: list[RawServer] = []

    def start(*script: tuple[float, bytes] | bytes) -> RawServer:
        steps = [s if isinstance(s, tuple) else (0.0, s) for s in script]
        server = RawServer(steps)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _post(server: RawServer, timeout: float = 2.0) -> deadline_http.Response:
    return deadline_http.post(
        server.url, b'{"a":1}', {"Content-Type": "application/json", "Host": "h"}, timeout
    )


def test_content_length_answer_and_the_request_sent(serve):
    server = serve(b'HTTP/1.1 201 Created\r\nContent-Length: 17\r\n\r\n{"purchaseId":""}')
    answer = _post(server)
    assert (answer.status, answer.content) == (201, b'{"purchaseId":""}')
    request = server.requests[0]
    assert request.startswith(b"POST /v1/order/purchases HTTP/1.1\r\n")
    assert b"Host: h\r\n" in request and request.count(b"Host:") == 1
    assert b"Content-Length: 7\r\n" in request and b"Connection: close\r\n" in request
    assert request.endswith(b'\r\n\r\n{"a":1}')


def test_chunked_answer_with_trailers(serve):
    server = serve(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nRetry-After: 5\r\n\r\n",
        b'4\r\n{"a"\r\n',
        b"3;ext=1\r\n:1}\r\n0\r\nX-Trailer: y\r\n\r\n",
    )
    answer = _post(server)
    assert (answer.status, answer.content) == (200, b'{"a":1}')
    assert answer.headers["retry-after"] == "5"


def test_answer_read_until_close_and_interim_100_skipped(serve):
    server = serve(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 503 Busy\r\n\r\n", b"later body")
    answer = _post(server)
    assert (answer.status, answer.content) == (503, b"later body")


@pytest.mark.parametrize(
    "garbage",
    [
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 2xx OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: lots\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_garbage_is_a_bad_response(serve, garbage):
    server = serve(garbage)
    with pytest.raises(deadline_http.BadResponse):
        _post(server)


def test_deadline_covers_a_trickled_answer(serve):
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n"
    server = serve(head, *[(0.2, b"x")] * 20)
    started = time.monotonic()
    with pytest.raises(deadline_http.DeadlineExceeded):
        _post(server, timeout=1.0)
    assert time.monotonic() - started < 1.5


def test_deadline_covers_a_silent_server(serve):
    server = serve((5.0, b"HTTP/1.1 200 OK\r\n\r\n"))
    started = time.monotonic()
    with pytest.raises(deadline_http.DeadlineExceeded):
        _post(server, timeout=0.5)
    assert time.monotonic() - started < 1.0


def test_refused_connection_is_an_os_error():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    with pytest.raises(OSError):
        deadline_http.post(f"http://127.0.0.1:{port}/x", b"", {}, 1.0)


@pytest.mark.parametrize("url", ["ftp://h/x", "http:///x", "not a url"])
def test_unsupported_urls_are_refused(url):
    with pytest.raises(deadline_http.BadResponse):
        deadline_http.post(url, b"", {}, 1.0)


def test_header_injection_is_refused(serve):
    with pytest.raises(deadline_http.BadResponse):
        deadline_http.post("http://127.0.0.1:9/x", b"", {"X-A": "b\r\nX-Evil: 1"}, 1.0)
