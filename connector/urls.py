"""The endpoints Amazon calls (contract §0.3). Each operation is one APIView."""

from django.conf import settings
from django.urls import path
from drf_spectacular.utils import extend_schema_view

from .events import EventFeedView
from .openapi import create_purchases_schema, event_feed_schema, shopper_authorization_schema
from .ordering import CreatePurchasesView
from .shopper_authorization import ShopperAuthorizationView

# The views parse the wire format themselves; their OpenAPI documentation lives in openapi.py.
extend_schema_view(post=create_purchases_schema)(CreatePurchasesView)
extend_schema_view(post=shopper_authorization_schema)(ShopperAuthorizationView)
extend_schema_view(post=event_feed_schema)(EventFeedView)

urlpatterns: list = [
    path("v1/events/jwo", EventFeedView.as_view(), name="event-feed"),
    path("v1/order/purchases", CreatePurchasesView.as_view(), name="create-purchases"),
    path(
        "v1/fraudandabuse/shopperauthorization",
        ShopperAuthorizationView.as_view(),
        name="shopper-authorization",
    ),
]

if settings.JWO_BENCH_ENDPOINTS and not settings.SETTINGS_MODULE.endswith(".production"):
    from .bench_ping import BenchPingView

    urlpatterns.append(path("v1/_bench/ping", BenchPingView.as_view(), name="bench-ping"))
