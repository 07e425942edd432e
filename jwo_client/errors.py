"""The Payment Service client's error tree (contract §0.8): every failure has one classification.

    PaymentServiceError
    ├── RetryableError            retry the identical body later
    │   ├── RateLimited           429: pause the path for ``retry_after`` seconds (C1)
    │   ├── ServiceUnavailable    503: wait Retry-After, else retryAfter, else 30 s
    │   ├── ServerError           500 and other 5xx: back off 1, 2, 4 … 60 s with full jitter
    │   ├── TransportError        timeout, reset, refused: the outcome is *unknown*
    │   └── MalformedResponse     a 2xx we cannot read: ask again idempotently
    ├── Declined                  a card decline, for callers that want it as an exception
    ├── ShoppingTripExpired       400 ShoppingTripExpiredException: mark the trip expired
    ├── UnknownShoppingTrip       400 UnknownShoppingTrip (retried only for §3.5)
    ├── RefundWindowExpired       400 RefundWindowExpiredException
    ├── AccessDenied              403 (any body): never retried, alert
    └── PermanentError            any other 4xx, e.g. BadRequestException: fix the request

Each error carries the ``Exchange`` it came from (request, status, response, timing) so the
caller can keep a timeline of what was said to Amazon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FailureKind(StrEnum):
    RETRYABLE = "RETRYABLE"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"
    UNKNOWN_TRIP = "UNKNOWN_TRIP"
    REFUND_WINDOW_EXPIRED = "REFUND_WINDOW_EXPIRED"
    ACCESS_DENIED = "ACCESS_DENIED"
    PERMANENT = "PERMANENT"


@dataclass
class Exchange:
    """One HTTP round trip with the Payment Service, as it can be shown to an operator."""

    operation: str
    path: str
    request: Any
    status: int | None = None
    response: Any = None
    error: str = ""
    elapsed_ms: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "path": self.path,
            "request": self.request,
            "status": self.status,
            "response": self.response,
            "error": self.error,
            "elapsedMs": round(self.elapsed_ms, 1),
        }


class PaymentServiceError(Exception):
    kind: FailureKind = FailureKind.PERMANENT

    def __init__(
        self,
        message: str = "",
        *,
        exchange: Exchange | None = None,
        error_msg: str = "",
        http_status: int | None = None,
    ):
        super().__init__(message or error_msg or type(self).__name__)
        self.exchange = exchange
        self.error_msg = error_msg
        self.http_status = http_status

    @property
    def retryable(self) -> bool:
        return self.kind == FailureKind.RETRYABLE


class RetryableError(PaymentServiceError):
    """Try the identical body again. ``retry_after`` is the least wait in seconds, if known."""

    kind = FailureKind.RETRYABLE

    def __init__(self, message: str = "", *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class RateLimited(RetryableError):
    """429: no call to this path, for the whole account, for ``retry_after`` seconds."""


class ServiceUnavailable(RetryableError):
    """503: wait ``retry_after`` seconds (Retry-After, else retryAfter, else 30)."""


class ServerError(RetryableError):
    """500 or another 5xx: back off and retry the identical body."""


class TransportError(RetryableError):
    """Timeout, reset or refused connection. The call may have happened: ask again."""

    def __init__(self, message: str = "", *, timed_out: bool = False, **kwargs):
        super().__init__(message, **kwargs)
        self.timed_out = timed_out


class MalformedResponse(RetryableError):
    """A success status with a body we cannot read; the operation is idempotent, so ask again."""


class Declined(PaymentServiceError):
    kind = FailureKind.DECLINED


class ShoppingTripExpired(PaymentServiceError):
    kind = FailureKind.EXPIRED


class UnknownShoppingTrip(PaymentServiceError):
    kind = FailureKind.UNKNOWN_TRIP


class RefundWindowExpired(PaymentServiceError):
    kind = FailureKind.REFUND_WINDOW_EXPIRED


class AccessDenied(PaymentServiceError):
    kind = FailureKind.ACCESS_DENIED


class PermanentError(PaymentServiceError):
    kind = FailureKind.PERMANENT


class NoCredentials(PaymentServiceError):
    """The AWS credential chain found nothing to sign with: a configuration problem."""

    kind = FailureKind.ACCESS_DENIED
