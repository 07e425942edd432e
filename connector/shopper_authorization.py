"""Shopper Authorization (contract §2): Amazon asks whether to open the gate.

Thin: SigV4 first (403 before anything reads the body), then ``gate.services.decisions`` decides
and records; the answer is 200 with the §2.2 body, or 400 with the field and the problem.

Two DRF steps that are pure overhead here are skipped on the hot path: content negotiation (the
connector only speaks JSON, so the answer is rendered directly and errors use the one JSON
renderer) and DRF's parser selection for an ``application/json`` body (parsed with the same
``wire.loads`` the parser uses). Authentication, permissions and the error mapping are DRF's, as
for every connector view.
"""

import time

from django.http import HttpResponse
from rest_framework.exceptions import ParseError
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from core.errors import FieldProblem, ValidationFailed
from core.signing import AmazonSigV4Authentication
from gate.services.decisions import gate_decide
from jwo_client import wire

JSON = "application/json"


class ShopperAuthorizationView(APIView):
    authentication_classes = [AmazonSigV4Authentication]
    permission_classes = [IsAuthenticated]
    throttle_classes: list = []

    def initial(self, request, *args, **kwargs):
        self.started = time.perf_counter()  # the budget counts the signature check too
        super().initial(request, *args, **kwargs)

    def perform_content_negotiation(self, request, force=False):
        """Always JSON (the only renderer): no Accept header parsing per call."""
        renderer = self.get_renderers()[0]
        return renderer, renderer.media_type

    def post(self, request):
        body = request.body
        if not body.strip():
            raise ValidationFailed([FieldProblem("", "MISSING")])
        if request.content_type == JSON:
            try:
                payload = wire.loads(body)
            except ValueError as error:
                raise ParseError("JSON parse error") from error
        else:
            payload = request.data  # DRF refuses other media types (400 BAD_FORMAT)
        answer = gate_decide(payload=payload, started=self.started)
        # The body is always JSON: render it directly.
        return HttpResponse(wire.dumps(answer.body), content_type=JSON)
