"""The endpoints Amazon calls (contract §0.3). Each operation is one APIView."""

from django.conf import settings
from django.urls import path

from .events import EventFeedView
from .ordering import CreatePurchasesView
from .shopper_authorization import ShopperAuthorizationView

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
