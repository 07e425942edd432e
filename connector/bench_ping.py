"""A signed no-op for bench/: the cost of DRF plus SigV4 verification, nothing else.

Routed only when ``JWO_BENCH_ENDPOINTS`` is true and the settings module is not production
(see connector/urls.py), so bench/create_purchases.py can print Create Purchases next to the
cheapest authenticated call measured in the same run.
"""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from core.signing import AmazonSigV4Authentication


class BenchPingView(APIView):
    authentication_classes = [AmazonSigV4Authentication]
    permission_classes = [IsAuthenticated]
    throttle_classes: list = []

    @extend_schema(exclude=True)
    def post(self, request):
        return HttpResponse(b'{"ok":true}', status=200, content_type="application/json")
