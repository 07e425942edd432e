"""Shopper Authorization (contract §2): Amazon asks whether to open the gate.

Thin: SigV4 first (403 before anything reads the body), then ``gate.services.decisions`` decides
and records; the answer is 200 with the §2.2 body, or 400 with the field and the problem.
"""

import time

from django.http import HttpResponse
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from core.errors import FieldProblem, ValidationFailed
from core.signing import AmazonSigV4Authentication
from gate.services.decisions import gate_decide
from jwo_client import wire


class ShopperAuthorizationView(APIView):
    authentication_classes = [AmazonSigV4Authentication]
    permission_classes = [IsAuthenticated]
    throttle_classes: list = []

    def initial(self, request, *args, **kwargs):
        self.started = time.perf_counter()  # the budget counts the signature check too
        super().initial(request, *args, **kwargs)

    def post(self, request):
        if not request.body.strip():
            raise ValidationFailed([FieldProblem("", "MISSING")])
        answer = gate_decide(payload=request.data, started=self.started)
        # The body is always JSON: render it directly, without DRF's content negotiation.
        return HttpResponse(wire.dumps(answer.body), content_type="application/json")
