"""Create Purchases (contract §1): Amazon delivers a finished cart; we answer with a purchaseId.

Thin: SigV4 first (403 before anything reads the body), then parse the JSON (decimals, never
floats), call ``ordering.services.purchases.purchase_create``, and write its answer. A 201 body
is written exactly as stored, so a replay is byte for byte the first answer.
"""

from django.http import HttpResponse
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from core.errors import FieldProblem, ValidationFailed
from core.signing import AmazonSigV4Authentication
from jwo_client import wire
from ordering.services.purchases import purchase_create


def _json_body(request):
    raw = request.body
    if not raw.strip():
        raise ValidationFailed([FieldProblem("", "MISSING")])
    if request.content_type != "application/json":
        raise ValidationFailed([FieldProblem("", "BAD_FORMAT")])
    try:
        return wire.loads(raw)
    except ValueError:
        raise ValidationFailed([FieldProblem("", "BAD_FORMAT")]) from None


class CreatePurchasesView(APIView):
    authentication_classes = [AmazonSigV4Authentication]
    permission_classes = [IsAuthenticated]
    throttle_classes: list = []

    def post(self, request):
        answer = purchase_create(body=_json_body(request))
        return HttpResponse(answer.body, status=answer.status, content_type="application/json")
