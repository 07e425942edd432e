"""Create Purchases (contract §1): Amazon delivers a finished cart; we answer with a purchaseId.

Thin: SigV4 first (403 before anything reads the body), then parse the JSON (decimals, never
floats), call ``ordering.services.purchases.purchase_create``, and write its answer. A 201 body
is written exactly as stored, so a replay is byte for byte the first answer.

The serializers below describe the wire shapes for the OpenAPI schema. Validation itself is
``ordering.validation``: it reports every problem with the contract's field paths and codes
(§1.3), which DRF's serializer errors cannot express.
"""

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from core.errors import FieldProblem, ValidationFailed
from core.signing import AmazonSigV4Authentication
from jwo_client import wire
from ordering.services.purchases import purchase_create
from ordering.validation import (
    EXTERNAL_ID_TYPES,
    ITEM_TYPES,
    LOCATIONS,
    PAYLOAD_TYPES,
    QUANTITY_UNITS,
)


class _IdSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=255)


class _ScanResultSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=255, required=False)
    type = serializers.CharField(help_text="SHOPPER, ASSOCIATE, CASH, LOYALTY; others are kept")


class _AuthEventSerializer(serializers.Serializer):
    id = serializers.RegexField(r"^[0-9a-zA-Z_-]+$", max_length=255)
    timestamp = serializers.DateTimeField()
    location = serializers.ChoiceField(LOCATIONS, required=False)
    payloadType = serializers.ChoiceField(PAYLOAD_TYPES)
    scanResult = _ScanResultSerializer(required=False)


class _ShoppingTripSerializer(serializers.Serializer):
    startTime = serializers.DateTimeField()
    endTime = serializers.DateTimeField()
    authEvents = _AuthEventSerializer(many=True)


class _QuantitySerializer(serializers.Serializer):
    value = serializers.RegexField(r"^[0-9]+(\.[0-9]+)?$", max_length=10)
    unit = serializers.ChoiceField(QUANTITY_UNITS)


class _ExternalIdentifierSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=255)
    type = serializers.ChoiceField(EXTERNAL_ID_TYPES)


class _CartItemSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=255, help_text="the SKU, or the scanned code")
    type = serializers.ChoiceField(ITEM_TYPES)
    quantity = _QuantitySerializer()
    externalIdentifiers = _ExternalIdentifierSerializer(many=True, required=False)
    lineItemId = serializers.CharField(max_length=255, required=False)


class CreatePurchasesRequestSerializer(serializers.Serializer):
    requestId = serializers.UUIDField()
    idempotentShoppingTripId = serializers.RegexField(r"^[0-9a-zA-Z_-]+$", max_length=255)
    storeId = serializers.RegexField(r"^[0-9a-zA-Z_-]+$", max_length=255)
    shoppingTrip = _ShoppingTripSerializer()
    cartItems = _CartItemSerializer(many=True, help_text="may be empty")
    shopperIdentity = _IdSerializer(required=False)
    shopperDeviceId = serializers.CharField(max_length=255, required=False)
    paymentSource = _IdSerializer(required=False)


class CreatePurchasesResponseSerializer(serializers.Serializer):
    purchaseId = serializers.CharField(help_text='"" for an empty cart')


class _ProblemSerializer(serializers.Serializer):
    field = serializers.CharField()
    problem = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    errorMsg = serializers.CharField()
    details = _ProblemSerializer(many=True, required=False)


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

    @extend_schema(
        operation_id="create_purchases",
        request=CreatePurchasesRequestSerializer,
        responses={
            201: CreatePurchasesResponseSerializer,
            400: ErrorSerializer,
            403: ErrorSerializer,
            409: ErrorSerializer,
            503: ErrorSerializer,
        },
    )
    def post(self, request):
        answer = purchase_create(body=_json_body(request))
        return HttpResponse(answer.body, status=answer.status, content_type="application/json")
