"""``POST /v1/events/jwo``: Amazon's event feed, one event per request (contract §5).

The ``x-api-key`` is compared in constant time with every configured key (no early stop), then
the raw event is stored under its unique ``detail.eventId`` and committed before the answer:
200 ``ACCEPTED`` or ``DUPLICATE``. Processing happens later in a worker.

As for Shopper Authorization, DRF's content negotiation is skipped (the feed only speaks JSON:
the answer is rendered directly, errors go through the one JSON renderer).
"""

import hmac
import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from core.api.exceptions import error_response
from core.errors import ServiceUnavailable
from jwo_client import wire
from payments.services.events import event_receive

JSON = "application/json"

logger = logging.getLogger(__name__)


def api_key_valid(presented: str | None) -> bool:
    """True when ``presented`` equals one of ``JWO_EVENT_API_KEYS``; every key is compared."""
    candidate = (presented or "").encode()
    matched = False
    for key in settings.JWO_EVENT_API_KEYS:
        matched |= hmac.compare_digest(candidate, key.encode())
    return matched and bool(candidate)


class EventFeedView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    def perform_content_negotiation(self, request, force=False):
        """Always JSON (the only renderer): no Accept header parsing per call."""
        renderer = self.get_renderers()[0]
        return renderer, renderer.media_type

    def post(self, request):
        if not api_key_valid(request.headers.get("x-api-key")):
            logger.warning("event delivery refused: bad or missing x-api-key")
            return error_response("UnauthorizedException", 401)
        try:
            status = event_receive(raw=request.body)
        except DatabaseError:
            logger.exception("event could not be stored; the sender retries")
            raise ServiceUnavailable(retry_after=5) from None
        return HttpResponse(wire.dumps({"status": status}), content_type=JSON)
