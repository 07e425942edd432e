"""Verify Amazon's SigV4-signed connector calls (contract §0.7) before anything reads the body.

Used as the DRF authentication class of every connector view. Any failure is a 403
``AccessDeniedException``; the check runs first, so an unsigned malformed body gets 403, not 400.
``JWO_INBOUND_AUTH=trust_gateway`` skips it where only the API gateway can reach the app.
"""

import logging

from django.conf import settings
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from jwo_client.sigv4 import SignatureError, verify_request

from .clock import wall_now

logger = logging.getLogger(__name__)


class AmazonCaller:
    """The authenticated principal of a connector call."""

    is_authenticated = True
    is_staff = False

    def __init__(self, access_key_id: str):
        self.access_key_id = access_key_id

    def __str__(self) -> str:
        return f"amazon:{self.access_key_id}"


def verify_amazon_request(request) -> AmazonCaller:
    """Raise ``SignatureError`` unless the Django request carries a valid SigV4 signature."""
    if settings.JWO_INBOUND_AUTH == "trust_gateway":
        return AmazonCaller("gateway")
    access_key_id = verify_request(
        method=request.method,
        path=request.path,
        headers=request.headers,
        body=request.body,
        keys=settings.JWO_INBOUND_KEYS,
        region=settings.JWO_AWS_REGION,
        now=wall_now(),
    )
    return AmazonCaller(access_key_id)


class AmazonSigV4Authentication(BaseAuthentication):
    def authenticate(self, request):
        try:
            caller = verify_amazon_request(request._request)
        except SignatureError as error:
            logger.warning(
                "connector call refused: bad signature",
                extra={"path": request._request.path, "reason": str(error)[:120]},
            )
            raise AuthenticationFailed("AccessDeniedException") from None
        return (caller, None)

    def authenticate_header(self, request):
        return "AWS4-HMAC-SHA256"
