"""Malformed input at the HTTP boundary: always a contract 4xx with a JSON body, never a 500, a
stack trace or a hung worker; the simulator keeps serving afterwards (contract §0.4, §0.5, §0.7,
§0.8, §0.10; issue 3 "Bad input")."""

from __future__ import annotations

import socket

import pytest

from jwo_client import sigv4, wire

from .helpers import D, adjust, body_of, capture, error_of, new_trip

ADJ = "/v1/adjust/charge"
CAN = "/v1/cancel/charge"
UNKNOWN_TRIP = "7b0f9c1e-2d3a-4b5c-9e8f-1a2b3c4d5e6f"


def _adjust_raw(trip: str, amount_text: str) -> bytes:
    return (
        b'{"storeId":"STORE-001","shoppingTripId":"' + trip.encode() + b'",'
        b'"amount":{"amount":' + amount_text.encode() + b',"code":"USD"}}'
    )


def _exchange(sim, request: bytes, timeout: float = 10.0) -> bytes:
    """Send raw bytes on a fresh connection and read until the server closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", sim.port), timeout=timeout) as raw:
        raw.sendall(request)
        chunks = []
        try:
            while True:
                chunk = raw.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                    break
        except TimeoutError:
            pass
    return b"".join(chunks)


def _complete(data: bytes) -> bool:
    head, _, rest = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(rest) >= int(value.strip())
    return False


def _status_and_body(answer: bytes) -> tuple[int, dict | None]:
    head, _, rest = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    return status, (wire.loads(rest) if rest.strip() else None)


def _signed_headers(sim, path: str, body: bytes) -> dict[str, str]:
    key_id, secret = next(iter(sim.retailer_keys.items()))
    return sigv4.sign_request(
        method="POST",
        url=f"{sim.base_url}{path}",
        body=body,
        credentials=sigv4.Credentials(key_id, secret),
        region=sim.region,
    )


def _head(path: str, headers: dict[str, str], extra: str = "") -> bytes:
    lines = [f"POST {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()


def _still_serving(sim) -> None:
    assert error_of(sim.call(CAN, {"storeId": "STORE-001", "shoppingTripId": UNKNOWN_TRIP})) == (
        "UnknownShoppingTrip"
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"storeId":' * 50_000 + b"1" + b"}" * 50_000,
        b'{"storeId": "STORE-001", "shoppingTripId": "a", "shoppingTripId": "b"}',
        b'{"storeId": "STORE-001", "shoppingTripId": "t", "amount": NaN}',
        b'{"storeId": "STORE-001", "shoppingTripId": "t", "amount": {"amount": Infinity}}',
        b'{"storeId": "STORE-001", "shoppingTripId": "t", "amount": -Infinity}',
        b'{"amount": 1e9999999999999999999999}',
        b'{"storeId": "STORE-\xc3\x28"}',
        b"\xef\xbb\xbf{}",
    ],
    ids=[
        "nested-arrays",
        "nested-objects",
        "duplicate-keys",
        "nan",
        "infinity",
        "-infinity",
        "exponent-beyond-decimal",
        "bad-utf8-in-string",
        "utf8-bom",
    ],
)
def test_malformed_json_is_bad_request_never_500(sim, raw):
    """§0.4: deep nesting, duplicate keys (ambiguous once signed), NaN/Infinity, exponents beyond
    Decimal's range and bad UTF-8 → 400 ``BadRequestException``; the simulator keeps serving."""
    response = sim.call(ADJ, None, raw=raw)
    assert response.status_code == 400, response.text[:200]
    assert error_of(response) == "BadRequestException"
    _still_serving(sim)


@pytest.mark.parametrize(
    ("amount_text", "problem"),
    [
        ("1e-999999999", "BAD_FORMAT"),
        ("1.0000000000000000000000000000000001", "BAD_FORMAT"),
        ("1e999999999", "OUT_OF_RANGE"),
        ("1e9", "OUT_OF_RANGE"),
    ],
)
def test_extreme_amounts_are_bad_request_never_rounded_or_500(sim, amount_text, problem):
    """§0.5 rules 3–4 exactly: an amount with more decimals than USD's two is a 400 however tiny
    (never rounded to an approvable 0.00), and one past 9 integer digits is a 400 however huge
    (never an overflow 500). Nothing changes on the trip."""
    trip = new_trip(sim)
    response = sim.call(ADJ, None, raw=_adjust_raw(trip, amount_text))
    assert response.status_code == 400, response.text
    assert {"field": "amount.amount", "problem": problem} in body_of(response)["details"]
    assert sim.trip(trip)["state"] == "PREAUTHORIZED"


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/json-patch+json", "text/json", "application/x-www-form-urlencoded"],
)
def test_content_types_other_than_json_are_bad_request(sim, content_type):
    """§0.10: a Content-Type that is not JSON → 400 ``BadRequestException``."""
    response = sim.call(
        CAN,
        {"storeId": "STORE-001", "shoppingTripId": UNKNOWN_TRIP},
        headers={"Content-Type": content_type},
    )
    assert (response.status_code, error_of(response)) == (400, "BadRequestException")


def test_content_type_is_case_insensitive_with_any_charset(sim):
    """§0.4: ``charset`` is accepted; media type names are case-insensitive (RFC 9110)."""
    response = sim.call(
        CAN,
        {"storeId": "STORE-001", "shoppingTripId": UNKNOWN_TRIP},
        headers={"Content-Type": "Application/JSON; Charset=UTF-8"},
    )
    assert error_of(response) == "UnknownShoppingTrip"


def test_oversized_signed_body_is_bad_request_and_the_connection_closed(sim):
    """A body over the 1 MiB limit is refused unread: 400 ``BadRequestException`` with JSON, the
    connection is closed (its unread bytes must never be parsed as a next request)."""
    body = b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    headers = {**_signed_headers(sim, CAN, body), "Content-Length": str(len(body))}
    answer = _exchange(sim, _head(CAN, headers) + body[:65536])
    status, parsed = _status_and_body(answer)
    assert (status, parsed["errorMsg"]) == (400, "BadRequestException")
    assert b"connection: close" in answer.lower()
    _still_serving(sim)


def test_oversized_unsigned_body_is_403_first(sim):
    """§0.7: the signature check runs before all others, so an unsigned huge body gets 403."""
    headers = {"Host": "x", "Content-Type": "application/json", "Content-Length": "50000000"}
    status, parsed = _status_and_body(_exchange(sim, _head(CAN, headers)))
    assert (status, parsed) == (403, {"errorMsg": "AccessDeniedException"})


@pytest.mark.parametrize("length", ["abc", "-5", "+12", "1 2", "٣"])
def test_bad_content_length_is_a_json_400_and_closes(sim, length):
    headers = {"Host": "x", "Content-Type": "application/json", "Content-Length": length}
    answer = _exchange(sim, _head(CAN, headers) + b"{}")
    status, parsed = _status_and_body(answer)
    assert status in (400, 403)
    assert parsed["errorMsg"] in ("BadRequestException", "AccessDeniedException")
    assert b"Traceback" not in answer


def test_conflicting_content_lengths_are_refused(sim):
    """Two different Content-Length headers are a smuggling attempt: 400, connection closed."""
    body = wire.dumps({"storeId": "STORE-001", "shoppingTripId": UNKNOWN_TRIP})
    headers = _signed_headers(sim, CAN, body)
    head = _head(CAN, headers, f"Content-Length: {len(body)}\r\nContent-Length: 2\r\n")
    status, parsed = _status_and_body(_exchange(sim, head + body))
    assert (status, parsed["errorMsg"]) == (400, "BadRequestException")


def test_chunked_body_is_read_like_any_other(sim):
    """HTTP/1.1 chunked transfer coding: the body is decoded, signed bytes verify, and the call
    is answered on its merits (here: an unknown trip)."""
    body = wire.dumps({"storeId": "STORE-001", "shoppingTripId": UNKNOWN_TRIP})
    headers = _signed_headers(sim, CAN, body)
    chunked = b"".join(
        f"{len(part):x}\r\n".encode() + part + b"\r\n" for part in (body[:10], body[10:])
    )
    head = _head(CAN, headers, "Transfer-Encoding: chunked\r\n")
    status, parsed = _status_and_body(_exchange(sim, head + chunked + b"0\r\n\r\n"))
    assert (status, parsed) == (400, {"errorMsg": "UnknownShoppingTrip"})


def test_malformed_chunked_body_is_bad_request(sim):
    body = b'{"storeId": "STORE-001"}'
    headers = _signed_headers(sim, CAN, body)
    head = _head(CAN, headers, "Transfer-Encoding: chunked\r\n")
    status, parsed = _status_and_body(_exchange(sim, head + b"zz\r\n" + body + b"\r\n0\r\n\r\n"))
    assert (status, parsed["errorMsg"]) == (400, "BadRequestException")


def test_missing_content_length_means_an_empty_body(sim):
    """No Content-Length and no transfer coding: the body is empty (RFC 9112), so a signed
    request answers 400 ``MISSING`` at once instead of waiting for bytes that never come."""
    headers = _signed_headers(sim, CAN, b"")
    status, parsed = _status_and_body(_exchange(sim, _head(CAN, headers)))
    assert status == 400
    missing = [{"field": "", "problem": "MISSING"}]
    assert parsed == {"errorMsg": "BadRequestException", "details": missing}


@pytest.mark.parametrize("method", ["HEAD", "PATCH", "OPTIONS", "BREW"])
def test_other_methods_get_a_json_4xx(sim, method):
    request = f"{method} {ADJ} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
    answer = _exchange(sim, request.encode())
    status = int(answer.split(b" ")[1])
    assert 400 <= status < 500
    if method != "HEAD":
        assert "errorMsg" in _status_and_body(answer)[1]
    assert b"<html" not in answer.lower()


def test_http_level_garbage_gets_a_json_4xx_not_html(sim):
    for request in (
        b"POST /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n",
        b"NONSENSE\r\n\r\n",
        b"POST /v1/adjust/charge HTTP/1.1\r\n" + b"X-H: v\r\n" * 200 + b"\r\n",
    ):
        answer = _exchange(sim, request)
        status, parsed = _status_and_body(answer)
        assert 400 <= status < 500
        assert parsed["errorMsg"] == "BadRequestException"
    _still_serving(sim)


def test_a_stalled_body_does_not_block_other_callers(sim):
    """A caller that announces more bytes than it sends holds only its own connection."""
    body = wire.dumps({"storeId": "STORE-001", "shoppingTripId": UNKNOWN_TRIP})
    headers = {**_signed_headers(sim, CAN, body), "Content-Length": str(len(body) + 100)}
    with socket.create_connection(("127.0.0.1", sim.port)) as stalled:
        stalled.sendall(_head(CAN, headers) + body)
        _still_serving(sim)
        trip = new_trip(sim)
        assert adjust(sim, trip, "1.00").status_code == 200


def test_a_huge_amount_in_the_control_api_is_a_400_not_a_500(sim):
    answer = sim.control("POST", "/clock", {"advanceSeconds": D("1e999999")}, check=False)
    assert "error" in answer
    assert sim.clock()["now"].startswith("2025-05-02T17:00:00")


def test_a_garbage_end_time_rehearsed_at_exit_never_breaks_a_later_refund(sim, retailer):
    """CP-3.9 rehearsal: the exit may send a malformed ``endTime`` on purpose. If the retailer
    takes the cart anyway, the refund window (§0.10, from ``endTime``) falls back to the gate
    time instead of failing with a 500."""
    trip = new_trip(sim)
    sim.exit(trip, [], endTime="yesterday-ish", startTime=12345)
    adjust(sim, trip, "5.00")
    assert capture(sim, trip, "5.00").status_code == 200
    response = sim.call(
        "/v1/refund",
        {
            "storeId": "STORE-001",
            "shoppingTripId": trip,
            "amount": {"amount": D("1.00"), "code": "USD"},
            "refundRequestId": "550e8400-e29b-41d4-a716-446655440000",
            "refundReasonCode": "OTHER",
        },
    )
    assert response.status_code == 200, response.text
    assert sim.flush_csv()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/csv/flush", {"storeId": ["STORE-001"]}),
        ("PUT", "/faults", {"strict429": "false"}),
        ("PUT", "/faults", {"script": "not-a-list"}),
        (
            "PUT",
            "/faults",
            {"script": [{"path": "/v1/adjust/charge", "status": 503, "count": 1e3}]},
        ),
        ("POST", "/gate", {"storeId": ["STORE-001"], "shopperIdentityId": "x"}),
        ("POST", "/gate", []),
        ("PUT", "/shoppers/x", {"profile": "PARTIAL", "available": "lots"}),
        ("PUT", "/shoppers/x", {"profile": "PENDING_THEN", "n": 1.5}),
        ("POST", "/clock", {"setTo": 20250502}),
        ("POST", "/clock", {"mode": "sideways"}),
        ("POST", "/events/test", {"shoppingTripId": ["x"]}),
        ("POST", "/reset", "now"),
    ],
)
def test_control_api_answers_bad_bodies_with_400_never_500(sim, method, path, body):
    response = sim.client.request(
        method,
        f"{sim.base_url}/_sim/v1{path}",
        content=wire.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    assert 400 <= response.status_code < 500, response.text
    assert "error" in wire.loads(response.content)
