"""The Payment Service port of the payments app.

One ``PaymentServiceClient`` per process (created after a worker forks, never at import), the
Redis-shared ``EndpointGuard``, and ``amazon_call``: the only place where an answer from Amazon
becomes either a result dict for the outbox's ``on_success`` or ``RetryLater`` / ``GiveUp``.
It runs in the outbox's ``send`` step, with no database transaction open.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, connection

from core import clock
from core.alerts import alert_raise
from core.models import AlertSeverity, OutboxMessage
from core.outbox import GiveUp, RetryLater, full_jitter_backoff
from core.sql import row_insert
from jwo_client import errors
from jwo_client.credentials import AwsChainCredentials
from jwo_client.payment_service import PaymentServiceClient

from .enums import CallOutcome
from .guard import EndpointGuard, RateLimit
from .models import AmazonCall

logger = logging.getLogger(__name__)

# Fields of Amazon's answers that never go into our timeline (contract §3.5, §3.6).
REDACTED_FIELDS = frozenset(
    {"shopperEmail", "expirationDate", "panSequenceNumber", "cardholderVerificationMethodResult"}
)
_OUTCOME_BY_KIND = {
    errors.FailureKind.EXPIRED: CallOutcome.EXPIRED,
    errors.FailureKind.UNKNOWN_TRIP: CallOutcome.UNKNOWN_TRIP,
    errors.FailureKind.REFUND_WINDOW_EXPIRED: CallOutcome.PERMANENT,
    errors.FailureKind.PERMANENT: CallOutcome.PERMANENT,
    errors.FailureKind.DECLINED: CallOutcome.PERMANENT,
}

_process: dict[str, Any] = {"pid": None, "client": None, "guard": None}


def _fresh_process() -> None:
    if _process["pid"] != os.getpid():
        _process.update(pid=os.getpid(), client=None, guard=None)


def payment_client() -> PaymentServiceClient:
    _fresh_process()
    if _process["client"] is None:
        _process["client"] = PaymentServiceClient(
            base_url=settings.JWO_PAYMENT_BASE_URL,
            region=settings.JWO_AWS_REGION,
            credentials=AwsChainCredentials(),
            read_timeout=settings.PAYMENTS_READ_TIMEOUT_SECONDS,
        )
    return _process["client"]


def _rate_limits() -> dict[str, RateLimit]:
    limits = {}
    for item in settings.PAYMENTS_RATE_LIMITS:
        endpoint, _, numbers = item.partition("=")
        rate, _, burst = numbers.partition(":")
        limits[endpoint.strip()] = RateLimit(float(rate), float(burst or rate))
    return limits


def endpoint_guard() -> EndpointGuard:
    _fresh_process()
    if _process["guard"] is None:
        _process["guard"] = EndpointGuard(
            redis.Redis.from_url(settings.PAYMENTS_REDIS_URL, socket_timeout=5),
            prefix=settings.PAYMENTS_REDIS_PREFIX,
            rate_limits=_rate_limits(),
            default_rate=RateLimit(
                float(settings.PAYMENTS_RATE_PER_SECOND), float(settings.PAYMENTS_RATE_BURST)
            ),
            breaker_threshold=settings.PAYMENTS_BREAKER_THRESHOLD,
            breaker_cooldown=float(settings.PAYMENTS_BREAKER_COOLDOWN_SECONDS),
            breaker_max_cooldown=float(settings.PAYMENTS_BREAKER_MAX_COOLDOWN_SECONDS),
        )
    return _process["guard"]


def warm_process() -> None:
    """Create this process's client and guard and resolve the credentials now (a worker calls
    it after the fork), so the first call to Amazon does not pay for them."""
    endpoint_guard()
    try:
        payment_client().credentials.get()
    except errors.NoCredentials:
        logger.warning("no AWS credentials yet; they are looked up again on the first call")


def reset_process_state() -> None:
    """Drop this process's client and guard (tests change settings between cases)."""
    if _process["client"] is not None:
        _process["client"].close()
    _process.update(pid=None, client=None, guard=None)


def jsonable(value: Any) -> Any:
    """Decimals as exact strings, PII fields redacted: fit for a JSON column and an operator."""
    if isinstance(value, dict):
        return {
            key: "[redacted]" if key in REDACTED_FIELDS else jsonable(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


def call_record(
    *,
    exchange: dict,
    outcome: str,
    trip_pk: int | None,
    charge_pk: int | None,
    outbox_key: str = "",
    attempt: int = 1,
) -> AmazonCall:
    """Append one call to the timeline (inside the outcome's transaction, or on its own)."""
    call = AmazonCall(
        trip_id=trip_pk,
        charge_id=charge_pk,
        operation=exchange.get("operation", "")[:30],
        outbox_key=outbox_key[:300],
        attempt=attempt,
        request=exchange.get("request") or {},
        http_status=exchange.get("status"),
        response=exchange.get("response"),
        outcome=outcome,
        error=(exchange.get("error") or "")[:300],
        elapsed_ms=int(exchange.get("elapsedMs") or 0),
        business_time=clock.now(),
    )
    row_insert(call)
    return call


def record_from_result(message: OutboxMessage, result: dict, *, trip_pk, charge_pk) -> None:
    """Log the successful exchange carried in an outbox result (called from ``on_success``)."""
    exchange = result.get("exchange")
    if exchange:
        call_record(
            exchange=exchange,
            outcome=result.get("outcome", CallOutcome.OK),
            trip_pk=trip_pk,
            charge_pk=charge_pk,
            outbox_key=message.key,
            attempt=message.attempts,
        )


def _exchange_dict(error: errors.PaymentServiceError) -> dict:
    return jsonable(error.exchange.as_dict()) if error.exchange else {}


def _log_failure(message, error, outcome, *, trip_pk, charge_pk) -> None:
    if connection.in_atomic_block:  # never expected: send runs with no transaction open
        logger.error("amazon_call inside a transaction", extra={"key": message.key})
    try:
        call_record(
            exchange=_exchange_dict(error),
            outcome=outcome,
            trip_pk=trip_pk,
            charge_pk=charge_pk,
            outbox_key=message.key,
            attempt=message.attempts,
        )
    except DatabaseError:
        # The outcome is still classified and returned; only the call's history row is lost.
        logger.exception("could not record a failed Amazon call", extra={"key": message.key})


def amazon_call(
    *,
    message: OutboxMessage,
    operation: str,
    invoke: Callable[[PaymentServiceClient], Any],
    trip_pk: int | None,
    charge_pk: int | None = None,
    max_attempts: int | None = None,
) -> dict:
    """Make one call through the guard; classify the answer (contract §0.8).

    Returns ``{"outcome": ..., "result": <the client's result>, "exchange": {...}}`` for an
    answer that settles something (2xx, or a definite 4xx such as an expired or unknown trip);
    raises ``RetryLater`` for anything worth retrying and ``GiveUp`` for a 403, or once
    ``max_attempts`` deliveries have failed (the outbox then marks it dead and parks the trip).
    """
    guard = endpoint_guard()
    verdict = guard.acquire_waiting(operation, clock=clock.now)
    if not verdict.allowed:
        raise RetryLater(
            max(1.0, verdict.wait_seconds),
            status=f"SKIPPED:{verdict.reason}",
            detail=f"{operation} {verdict.reason}; not sent",
        )
    ids = {"trip_pk": trip_pk, "charge_pk": charge_pk}
    try:
        result = invoke(payment_client())
    except errors.RetryableError as error:
        if isinstance(error, errors.RateLimited):
            guard.pause(operation, seconds=error.retry_after, now=clock.now())
        else:
            guard.record_failure(operation, now=clock.now())
        _log_failure(message, error, CallOutcome.RETRYABLE, **ids)
        status = str(error.http_status or ("timeout" if getattr(error, "timed_out", 0) else "io"))
        if max_attempts is not None and message.attempts >= max_attempts:
            raise GiveUp(
                status=status, detail=f"retries exhausted after {message.attempts}: {error}"
            ) from None
        if error.retry_after is not None:
            wait = error.retry_after
        else:
            wait = full_jitter_backoff(message.attempts, base=1.0, cap=60.0)
        raise RetryLater(wait, status=status, detail=str(error)[:400]) from None
    except errors.AccessDenied as error:
        _log_failure(message, error, CallOutcome.ACCESS_DENIED, **ids)
        alert_raise(
            key=f"amazon-access-denied:{operation}",
            kind="amazon_access_denied",
            severity=AlertSeverity.CRITICAL,
            message=f"Amazon refused our credentials on {operation} (403); calls are not retried",
        )
        raise GiveUp(status="403", detail="AccessDeniedException") from None
    except errors.PaymentServiceError as error:
        # A definite answer (expired, unknown trip, bad request): the caller decides.
        guard.record_success(operation, verdict)
        return {
            "outcome": _OUTCOME_BY_KIND.get(error.kind, CallOutcome.PERMANENT),
            "errorMsg": error.error_msg,
            "httpStatus": error.http_status,
            "exchange": _exchange_dict(error),
        }
    guard.record_success(operation, verdict)
    exchange = getattr(result, "exchange", None)
    return {
        "outcome": CallOutcome.OK,
        "result": result,
        "exchange": jsonable(exchange.as_dict()) if exchange else {},
    }
