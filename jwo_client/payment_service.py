"""Typed client for Amazon's Payment Service (contract §3, §4). Plain Python, no Django.

Every call is a SigV4-signed ``POST`` with a JSON body written by ``jwo_client.wire`` (decimal
numbers in major units), sent with explicit connect and read timeouts (10 s read, §0.8). Answers
are read with decimals, unknown fields are ignored, and every failure raises exactly one class
of ``jwo_client.errors``. The client keeps no state between calls beyond its connection pool,
so retries (identical bodies) and pauses are the caller's business. Never call it with a
database transaction open.

    client = PaymentServiceClient(base_url="https://us-east-1.payments.amazonphysicalstores.com",
                                  region="us-east-1")
    result = client.adjust_charge(
        AdjustChargeRequest("STORE-001", trip_id, Decimal("23.47"), "USD")
    )
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from . import errors, wire
from .credentials import AwsChainCredentials, CredentialsProvider
from .payment_messages import (
    AdjustChargeRequest,
    AdjustChargeResult,
    CancelChargeRequest,
    CaptureChargeRequest,
    Initiated,
    PaymentStatusReport,
    PaymentStatusResult,
    RefundRequest,
    RefundResult,
    ResponseShapeError,
    ShopperIdentity,
    ShopperIdentityRequest,
    TransactionalData,
    TransactionalDataRequest,
)
from .sigv4 import sign_request

ADJUST_PATH = "/v1/adjust/charge"
CANCEL_PATH = "/v1/cancel/charge"
CAPTURE_PATH = "/v1/capture/charge"
REFUND_PATH = "/v1/refund"
TRANSACTIONAL_DATA_PATH = "/v1/payment/transactional-data"
SHOPPER_IDENTITY_PATH = "/v1/identity/shopper"
PAYMENT_STATUS_PATH = "/v1/feedback/payment-status"

# The operation names double as endpoint names for pauses, breakers and rate limits.
PATHS = {
    "adjust": ADJUST_PATH,
    "cancel": CANCEL_PATH,
    "capture": CAPTURE_PATH,
    "refund": REFUND_PATH,
    "transactional_data": TRANSACTIONAL_DATA_PATH,
    "shopper_identity": SHOPPER_IDENTITY_PATH,
    "payment_status": PAYMENT_STATUS_PATH,
}

DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_CONNECT_TIMEOUT = 3.0
DEFAULT_429_WAIT = 600.0  # C1: seconds; used when a 429 carries no usable Retry-After
DEFAULT_503_WAIT = 30.0

_BY_ERROR_MSG: dict[str, type[errors.PaymentServiceError]] = {
    "UnknownShoppingTrip": errors.UnknownShoppingTrip,
    "ShoppingTripExpiredException": errors.ShoppingTripExpired,
    "RefundWindowExpiredException": errors.RefundWindowExpired,
}


class PaymentServiceClient:
    def __init__(
        self,
        *,
        base_url: str,
        region: str,
        credentials: CredentialsProvider | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        http: httpx.Client | None = None,
        max_connections: int = 20,
    ):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self.region = region
        self.credentials = credentials or AwsChainCredentials()
        self.timeout = httpx.Timeout(
            read_timeout, connect=connect_timeout, write=read_timeout, pool=connect_timeout
        )
        self._own_http = http is None
        self.http = http or httpx.Client(
            timeout=self.timeout,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __enter__(self) -> PaymentServiceClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- operations ----------------------------------------------------------------------------
    def adjust_charge(self, request: AdjustChargeRequest) -> AdjustChargeResult:
        return self._call("adjust", request.to_wire(), AdjustChargeResult.from_wire)

    def cancel_charge(self, request: CancelChargeRequest) -> Initiated:
        return self._call("cancel", request.to_wire(), _initiated)

    def capture_charge(self, request: CaptureChargeRequest) -> Initiated:
        return self._call("capture", request.to_wire(), _initiated)

    def refund(self, request: RefundRequest) -> RefundResult:
        return self._call("refund", request.to_wire(), RefundResult.from_wire)

    def get_transactional_data(self, request: TransactionalDataRequest) -> TransactionalData:
        return self._call("transactional_data", request.to_wire(), TransactionalData.from_wire)

    def get_shopper_identity(self, request: ShopperIdentityRequest) -> ShopperIdentity:
        return self._call("shopper_identity", request.to_wire(), ShopperIdentity.from_wire)

    def report_payment_status(self, report: PaymentStatusReport) -> PaymentStatusResult:
        return self._call("payment_status", report.to_wire(), PaymentStatusResult.from_wire)

    # --- plumbing ------------------------------------------------------------------------------
    def _call[Result](
        self, operation: str, payload: dict, parse: Callable[[Any], Result]
    ) -> Result:
        """Send one signed request; return the parsed answer with ``.exchange`` or raise."""
        path = PATHS[operation]
        url = self.base_url + path
        body = wire.dumps(payload)
        exchange = errors.Exchange(operation=operation, path=path, request=payload)
        headers = sign_request(
            method="POST",
            url=url,
            body=body,
            credentials=self.credentials.get(),
            region=self.region,
        )
        started = time.monotonic()
        try:
            response = self.http.post(url, content=body, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException as error:
            exchange.elapsed_ms = (time.monotonic() - started) * 1000
            exchange.error = f"timeout: {type(error).__name__}"
            raise errors.TransportError(exchange.error, timed_out=True, exchange=exchange) from None
        except httpx.HTTPError as error:
            exchange.elapsed_ms = (time.monotonic() - started) * 1000
            exchange.error = f"connection: {type(error).__name__}"
            raise errors.TransportError(exchange.error, exchange=exchange) from None
        exchange.elapsed_ms = (time.monotonic() - started) * 1000
        exchange.status = response.status_code
        parsed = _parse_body(response.content)
        exchange.response = parsed
        exchange.headers = {
            name: response.headers[name] for name in ("retry-after",) if name in response.headers
        }
        if 200 <= response.status_code < 300:
            if parsed is _UNREADABLE:
                exchange.response = None
                exchange.error = "unreadable JSON in a success answer"
                raise errors.MalformedResponse(exchange.error, exchange=exchange)
            try:
                result = parse(parsed)
            except ResponseShapeError as error:
                exchange.error = str(error)
                raise errors.MalformedResponse(str(error), exchange=exchange) from None
            return _with_exchange(result, exchange)
        if parsed is _UNREADABLE:
            exchange.response = None
        raise classify_failure(response.status_code, exchange.response, response.headers, exchange)


_UNREADABLE = object()


def _parse_body(content: bytes) -> Any:
    if not content or not content.strip():
        return None
    try:
        return wire.loads(content)
    except ValueError:
        return _UNREADABLE


def _initiated(body: Any) -> Initiated:
    return Initiated()


def _with_exchange[Result](result: Result, exchange: errors.Exchange) -> Result:
    """Attach the round trip to the (frozen) result as ``.exchange``; equality is unchanged."""
    object.__setattr__(result, "exchange", exchange)
    return result


def classify_failure(
    status: int, body: Any, headers: Any, exchange: errors.Exchange | None = None
) -> errors.PaymentServiceError:
    """Map a non-2xx answer to its error class (contract §0.8)."""
    error_msg = body.get("errorMsg", "") if isinstance(body, dict) else ""
    error_msg = error_msg if isinstance(error_msg, str) else ""
    common = {"exchange": exchange, "error_msg": error_msg, "http_status": status}
    if status == 403:
        return errors.AccessDenied("access denied (403)", **common)
    if status == 429:
        wait = _retry_after_header(headers)
        return errors.RateLimited(
            "rate limited (429)",
            retry_after=wait if wait is not None else DEFAULT_429_WAIT,
            **common,
        )
    if status == 503:
        wait = _retry_after_header(headers)
        if wait is None and isinstance(body, dict):
            wait = _seconds(body.get("retryAfter"))
        return errors.ServiceUnavailable(
            "service unavailable (503)",
            retry_after=wait if wait is not None else DEFAULT_503_WAIT,
            **common,
        )
    if status >= 500 or status == 408:
        return errors.ServerError(f"server error ({status})", **common)
    if status == 400 and error_msg in _BY_ERROR_MSG:
        return _BY_ERROR_MSG[error_msg](error_msg, **common)
    return errors.PermanentError(f"{status} {error_msg or 'refused'}", **common)


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number < 0:
        return None
    return float(number)


def _retry_after_header(headers: Any) -> float | None:
    """Retry-After as seconds (delta-seconds, or an HTTP date measured against the wall clock)."""
    raw = headers.get("Retry-After") if headers is not None else None
    if raw is None:
        return None
    seconds = _seconds(raw)
    if seconds is not None:
        return seconds
    try:
        moment = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return max(0.0, (moment - dt.datetime.now(dt.UTC)).total_seconds())
