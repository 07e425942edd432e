"""Fault injection (§8.4), the R-429/R-500/R-503 answers (§0.8) and SigV4 checks (§0.7)."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from jwo_client import wire
from jwo_client.sigv4 import Credentials, sign_request

from .helpers import (
    adjust,
    body_of,
    cancel,
    capture,
    error_of,
    new_trip,
    refund,
    refund_body,
    report,
    txd,
)

PATHS = {
    "/v1/adjust/charge": ("ADJ-9", "ADJ-10", "ADJ-11"),
    "/v1/cancel/charge": ("CAN-10", "CAN-11", "CAN-12"),
    "/v1/capture/charge": ("CAP-13", "CAP-14", "CAP-15"),
    "/v1/refund": ("RFD-12/AE-7.11", "RFD-13/AE-7.12", "RFD-14"),
    "/v1/payment/transactional-data": ("TXD-10", "TXD-11", "TXD-12"),
    "/v1/identity/shopper": ("SID-11", "SID-12", "SID-13"),
    "/v1/feedback/payment-status": ("FB-429", "CC-7b.6", "FB-503"),
}
ANY_BODY = {"storeId": "STORE-001", "shoppingTripId": "t-1"}
CASES = [
    (path, status, keys[index])
    for path, keys in PATHS.items()
    for index, status in enumerate((429, 500, 503))
]


@pytest.mark.parametrize(("path", "status", "case"), CASES, ids=[f"{c[2]}-{c[1]}" for c in CASES])
def test_scripted_fault_answers(sim, path, status, case):
    """R-429 / R-500 / R-503 per path: exact body and Retry-After, before field checks."""
    sim.faults(script=[{"path": path, "status": status}])
    response = sim.call(path, ANY_BODY)
    assert response.status_code == status, case
    expected = {
        429: ({"errorMsg": "TooManyRequestsException"}, "600"),
        500: ({"errorMsg": "InternalServerException"}, None),
        503: ({"errorMsg": "ServiceUnavailableException", "retryAfter": 30}, "30"),
    }
    body, retry_after = expected[status]
    assert body_of(response) == body
    assert response.headers.get("Retry-After") == retry_after
    assert sim.call(path, ANY_BODY).status_code == 400  # the script is used up


def test_script_count_and_order(sim):
    sim.faults(
        script=[
            {"path": "/v1/capture/charge", "status": 503, "count": 2},
            {"path": "*", "status": 500},
        ]
    )
    statuses = [sim.call("/v1/capture/charge", ANY_BODY).status_code for _ in range(4)]
    assert statuses == [503, 503, 500, 400]


def test_strict_429_lockout_and_retry_after_600_s(sim):
    """R-429 with strict429: early retries get 429 with the remaining seconds; after 600 s of
    the business clock the path works again; other paths are not locked."""
    trip = new_trip(sim)
    sim.faults(strict429=True, script=[{"path": "/v1/adjust/charge", "status": 429}])
    assert adjust(sim, trip, "5.00").status_code == 429
    sim.advance(100)
    early = adjust(sim, trip, "5.00")
    assert early.status_code == 429
    assert early.headers["Retry-After"] == "500"
    assert txd(sim, trip).status_code == 400  # another path is not locked
    sim.advance(500)
    assert adjust(sim, trip, "5.00").status_code == 200
    assert sim.control("GET", "/faults")["stats"]["earlyCalls"]["/v1/adjust/charge"] == 1


def test_without_strict429_early_calls_are_counted_not_refused(sim):
    trip = new_trip(sim)
    sim.faults(script=[{"path": "/v1/adjust/charge", "status": 429}])
    assert adjust(sim, trip, "5.00").status_code == 429
    assert adjust(sim, trip, "5.00").status_code == 200
    assert sim.control("GET", "/faults")["stats"]["earlyCalls"]["/v1/adjust/charge"] == 1


def test_phase_after_capture_happens_once_cap_14(sim):
    """CAP-14: 500 with phase after: the capture happens, the answer is lost; the retry with
    the identical body answers 200 and there is still one capture."""
    trip = new_trip(sim)
    adjust(sim, trip, "20.00")
    sim.faults(script=[{"path": "/v1/capture/charge", "status": 500, "phase": "after"}])
    assert capture(sim, trip, "20.00").status_code == 500
    assert sim.trip(trip)["state"] == "CAPTURED"
    assert capture(sim, trip, "20.00").status_code == 200
    events = [e["eventType"] for e in sim.trip(trip)["events"]]
    assert events.count("CaptureApproved") == 1


def test_phase_after_refund_retry_gets_same_reconciliation_id_rfd_13(sim):
    """RFD-13: the retry carries the same refundRequestId and gets the same reconciliationId."""
    trip = new_trip(sim)
    adjust(sim, trip, "20.00")
    capture(sim, trip, "20.00")
    body = refund_body(trip, "5.00")
    sim.faults(script=[{"path": "/v1/refund", "status": 500, "phase": "after"}])
    assert sim.call("/v1/refund", body).status_code == 500
    retry = sim.call("/v1/refund", body)
    assert retry.status_code == 200
    trip_state = sim.trip(trip)
    assert len(trip_state["refunds"]) == 1
    assert body_of(retry)["reconciliationId"] == trip_state["refunds"][0]["reconciliationId"]


def test_phase_after_report_counts_once_cc_7b_6(sim):
    trip = new_trip(sim)
    sim.faults(script=[{"path": "/v1/feedback/payment-status", "status": 500, "phase": "after"}])
    assert report(sim, trip, "10.00", "0.00", 1746206123000).status_code == 500
    assert body_of(report(sim, trip, "10.00", "0.00", 1746206123000)) == {"status": "Accepted"}
    assert len(sim.balances("shopper-001")) == 1


def test_phase_before_changes_nothing(sim):
    trip = new_trip(sim)
    sim.faults(script=[{"path": "/v1/cancel/charge", "status": 503}])
    assert cancel(sim, trip).status_code == 503
    assert sim.trip(trip)["state"] == "PREAUTHORIZED"


def test_timeout_holds_past_the_client_timeout_then_closes(sim):
    trip = new_trip(sim)
    sim.faults(
        script=[{"path": "/v1/adjust/charge", "kind": "timeout", "holdMs": 1500, "phase": "after"}]
    )
    with pytest.raises(httpx.TimeoutException):
        sim.call(
            "/v1/adjust/charge",
            {
                "storeId": "STORE-001",
                "shoppingTripId": trip,
                "amount": {"amount": 5, "code": "USD"},
            },
            timeout=0.5,
        )
    assert sim.trip(trip)["state"] == "ADJUST_APPROVED"  # phase after: it happened


def test_reset_drops_the_connection_without_an_answer(sim):
    sim.faults(script=[{"path": "/v1/cancel/charge", "kind": "reset"}])
    with pytest.raises(httpx.TransportError):
        sim.call("/v1/cancel/charge", ANY_BODY)


def test_probabilities_are_seeded_and_bounded(sim):
    sim.faults({"/v1/identity/shopper": {"p500": 1.0}})
    body = {"storeId": "STORE-001", "shopperId": {"id": "x"}}
    assert {sim.call("/v1/identity/shopper", body).status_code for _ in range(5)} == {500}
    sim.faults({"*": {"p503": 0.5}})
    statuses = [sim.call("/v1/identity/shopper", body).status_code for _ in range(40)]
    assert 5 < statuses.count(503) < 35 and statuses.count(200) > 5


def test_ptimeout_and_preset_probabilities(sim):
    sim.faults({"/v1/cancel/charge": {"pReset": 1.0}})
    with pytest.raises(httpx.TransportError):
        sim.call("/v1/cancel/charge", ANY_BODY)
    sim.faults({"/v1/cancel/charge": {"pTimeout": 1.0, "holdMs": 800}})
    with pytest.raises(httpx.TimeoutException):
        sim.call("/v1/cancel/charge", ANY_BODY, timeout=0.3)


def test_slow_answers_delay_ms(sim):
    sim.faults({"/v1/identity/shopper": {"delayMs": 400}})
    started = time.monotonic()
    sim.call("/v1/identity/shopper", {"storeId": "STORE-001", "shopperId": {"id": "x"}})
    assert time.monotonic() - started >= 0.4


def test_extra_fields_in_answers(sim):
    """§0.4: the simulator adds simExtra so that clients prove they ignore unknown fields."""
    sim.set_shopper("pat", email="pat@example.com")
    sim.faults({"/v1/identity/shopper": {"pExtraFields": 1.0}})
    answer = body_of(
        sim.call("/v1/identity/shopper", {"storeId": "STORE-001", "shopperId": {"id": "pat"}})
    )
    assert answer["shopperEmail"] == "pat@example.com"
    assert "simExtra" in answer


def test_bad_fault_config_is_refused(sim):
    for bad in (
        {"/v1/adjust/charge": {"p500": 2}},
        {"script": [{"path": "/x", "status": 418}]},
        {"nonsense": 1},
        {"events": {"pWhatever": 0.1}},
    ):
        response = sim.control("PUT", "/faults", bad, check=False)
        assert "error" in response


# signatures ------------------------------------------------------------------------------------
def test_unsigned_malformed_body_gets_403_not_400_val_conn_001(sim):
    """VAL-CONN-001 / CONN-ADJ: the signature check runs before everything."""
    response = sim.call("/v1/adjust/charge", None, raw=b"{not json", sign=False)
    assert (response.status_code, body_of(response)) == (403, {"errorMsg": "AccessDeniedException"})


def test_signature_runs_before_faults(sim):
    sim.faults(script=[{"path": "/v1/adjust/charge", "status": 503}])
    assert sim.call("/v1/adjust/charge", ANY_BODY, sign=False).status_code == 403
    assert sim.call("/v1/adjust/charge", ANY_BODY).status_code == 503


@pytest.mark.parametrize(
    "problem",
    ["unknown-key", "wrong-secret", "wrong-region", "stale", "tampered-body", "wrong-service"],
)
def test_bad_signatures_are_403(sim, problem):
    body = wire.dumps(ANY_BODY)
    url = f"{sim.base_url}/v1/cancel/charge"
    key_id, secret = next(iter(sim.retailer_keys.items()))
    args = {
        "method": "POST",
        "url": url,
        "body": body,
        "region": "us-east-1",
        "credentials": Credentials(key_id, secret),
    }
    if problem == "unknown-key":
        args["credentials"] = Credentials("AKIDUNKNOWN", secret)
    if problem == "wrong-secret":
        args["credentials"] = Credentials(key_id, "nope")
    if problem == "wrong-region":
        args["region"] = "eu-west-1"
    if problem == "wrong-service":
        args["service"] = "s3"
    if problem == "stale":
        import datetime as dt

        args["now"] = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=400)
    headers = sign_request(**args)
    sent = body + b" " if problem == "tampered-body" else body
    response = sim.client.post(url, content=sent, headers=headers)
    assert response.status_code == 403
    assert error_of(response) == "AccessDeniedException"


def test_signature_uses_wall_clock_even_when_business_clock_moved(sim):
    sim.advance(10 * 86400)
    assert error_of(sim.call("/v1/cancel/charge", ANY_BODY)) == "UnknownShoppingTrip"


def test_unknown_path_is_404_after_the_signature_check(sim):
    """§0.10: an unknown path → 404 after the signature check."""
    assert sim.call("/v1/nothing/here", ANY_BODY, sign=False).status_code == 403
    assert sim.call("/v1/nothing/here", ANY_BODY).status_code == 404


def test_never_a_stack_trace_for_garbage(sim):
    with socket.create_connection(("127.0.0.1", sim.port)) as raw:
        raw.sendall(b"POST /v1/adjust/charge HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")
        answer = raw.recv(4096)
    assert b"Traceback" not in answer
    assert answer.split(b" ")[1] in (b"400", b"403")


def test_refund_and_txd_helpers_still_work_after_faults(sim):
    sim.faults({})
    trip = new_trip(sim)
    adjust(sim, trip, "1.00")
    assert txd(sim, trip).status_code == 200
    assert error_of(refund(sim, trip, "1.00")) == "BadRequestException"
