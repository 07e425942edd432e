"""Get Shopper Identity (contract §3.6) through the Payment Service client of ``jwo_client``."""

from __future__ import annotations

from django.conf import settings

from jwo_client import errors, wire
from jwo_client.payment_messages import ShopperIdentityRequest
from jwo_client.payment_service import PaymentServiceClient

from ..ports import LookupFailed, LookupRetryable

LOOKUP_READ_TIMEOUT = 5.0


class PaymentServiceEmailLookup:
    """Asks Amazon (or the simulator) for the shopper's email. Never logs or keeps it."""

    def __init__(self, client: PaymentServiceClient | None = None):
        self.client = client

    def shopper_email(self, *, store_id: str, identity_id: str) -> str | None:
        if wire.string_problem(identity_id, pattern=wire.SHOPPER_ID_PATTERN) is not None:
            return None  # Amazon takes only ids of this shape (§0.6): no email can be found.
        request = ShopperIdentityRequest(store_id, identity_id)
        try:
            if self.client is not None:
                identity = self.client.get_shopper_identity(request)
            else:
                with PaymentServiceClient(
                    base_url=settings.JWO_PAYMENT_BASE_URL,
                    region=settings.JWO_AWS_REGION,
                    read_timeout=LOOKUP_READ_TIMEOUT,
                ) as client:
                    identity = client.get_shopper_identity(request)
        except errors.RetryableError as error:
            # The class name only: the exchange attached to the error may hold the address.
            raise LookupRetryable(type(error).__name__, retry_after=error.retry_after) from None
        except errors.PaymentServiceError as error:
            raise LookupFailed(type(error).__name__) from None
        return identity.email
