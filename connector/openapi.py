"""OpenAPI descriptions of the endpoints Amazon calls (contract §1, §2, §5).

The views parse bodies themselves (signature first, exact decimals, the contract's error shape),
so these serializers exist only to document the wire format in ``/api/schema/``.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers

_money_amount = inline_serializer(
    "Money",
    {
        "amount": serializers.DecimalField(max_digits=11, decimal_places=2),
        "code": serializers.CharField(help_text="ISO-4217, the store's currency"),
    },
)
_gate_amount = inline_serializer(
    "GateAmount",
    {
        "value": serializers.DecimalField(max_digits=11, decimal_places=2),
        "currencyCode": serializers.CharField(),
    },
)
_error = inline_serializer(
    "Error",
    {
        "errorMsg": serializers.CharField(),
        "details": inline_serializer(
            "FieldProblem",
            {"field": serializers.CharField(), "problem": serializers.CharField()},
            many=True,
            required=False,
        ),
        "retryAfter": serializers.IntegerField(required=False),
    },
)
_auth_event = inline_serializer(
    "AuthEvent",
    {
        "id": serializers.CharField(max_length=255),
        "timestamp": serializers.DateTimeField(),
        "location": serializers.ChoiceField(["ENTRY", "MANUAL_IN_STORE"], required=False),
        "payloadType": serializers.ChoiceField(["FINANCIAL", "SCAN_CODE"]),
        "scanResult": inline_serializer(
            "ScanResult",
            {"id": serializers.CharField(max_length=255), "type": serializers.CharField()},
            required=False,
        ),
    },
)
_cart_item = inline_serializer(
    "CartItem",
    {
        "id": serializers.CharField(max_length=255, help_text="SKU, or the scanned code"),
        "type": serializers.ChoiceField(["SKU", "SCANCODE"]),
        "quantity": inline_serializer(
            "Quantity",
            {
                "value": serializers.CharField(max_length=10, help_text="decimal as a string"),
                "unit": serializers.ChoiceField(["unit", "kg", "g", "lb", "oz"]),
            },
        ),
        "externalIdentifiers": inline_serializer(
            "ExternalIdentifier",
            {"id": serializers.CharField(max_length=255), "type": serializers.ChoiceField(["UPC"])},
            many=True,
            required=False,
        ),
        "lineItemId": serializers.CharField(max_length=255, required=False),
    },
)

create_purchases_schema = extend_schema(
    operation_id="createPurchases",
    summary="Create Purchases: price a finished cart (Amazon → retailer, contract §1)",
    request=inline_serializer(
        "CreatePurchasesRequest",
        {
            "requestId": serializers.UUIDField(),
            "idempotentShoppingTripId": serializers.CharField(max_length=255),
            "storeId": serializers.CharField(max_length=255),
            "shoppingTrip": inline_serializer(
                "ShoppingTrip",
                {
                    "startTime": serializers.DateTimeField(),
                    "endTime": serializers.DateTimeField(),
                    "authEvents": _auth_event.__class__(many=True),
                },
            ),
            "cartItems": _cart_item.__class__(many=True),
            "shopperIdentity": inline_serializer(
                "ShopperIdentity", {"id": serializers.CharField(max_length=255)}, required=False
            ),
            "shopperDeviceId": serializers.CharField(max_length=255, required=False),
            "paymentSource": inline_serializer(
                "PaymentSource", {"id": serializers.CharField()}, required=False
            ),
        },
    ),
    responses={
        201: inline_serializer(
            "CreatePurchasesResponse",
            {"purchaseId": serializers.CharField(help_text='"" for an empty cart')},
        ),
        400: _error,
        403: _error,
        409: _error,
        503: _error,
    },
)

shopper_authorization_schema = extend_schema(
    operation_id="shopperAuthorization",
    summary="Shopper Authorization: decide at the gate (Amazon → retailer, contract §2)",
    request=inline_serializer(
        "ShopperAuthorizationRequest",
        {
            "storeId": serializers.CharField(max_length=255),
            "shopperIdentity": inline_serializer(
                "GateShopperIdentity", {"id": serializers.CharField(max_length=255)}
            ),
            "authorizedAmount": _gate_amount,
            "shopperInteraction": serializers.JSONField(
                help_text="shoppingTripId, gateAuthenticationEvent, recommendation, cartHint"
            ),
        },
    ),
    responses={
        200: inline_serializer(
            "ShopperAuthorizationResponse",
            {
                "shopperAuthorized": serializers.BooleanField(),
                "authorizationConditions": inline_serializer(
                    "AuthorizationCondition",
                    {"type": serializers.ChoiceField(["ADJUST"]), "amount": _gate_amount},
                    many=True,
                    required=False,
                ),
                "shopperRisks": serializers.ListField(
                    child=serializers.CharField(), required=False
                ),
                "reason": serializers.CharField(max_length=255, required=False),
            },
        ),
        400: _error,
        403: _error,
    },
)

event_feed_schema = extend_schema(
    operation_id="eventFeed",
    summary="Event feed delivery, one EventBridge event per request (contract §5)",
    parameters=[
        OpenApiParameter(
            "x-api-key",
            OpenApiTypes.STR,
            OpenApiParameter.HEADER,
            required=True,
            description="one of JWO_EVENT_API_KEYS",
        )
    ],
    request=inline_serializer(
        "EventEnvelope",
        {
            "version": serializers.CharField(),
            "id": serializers.CharField(),
            "detail-type": serializers.CharField(),
            "source": serializers.CharField(),
            "time": serializers.DateTimeField(),
            "detail": inline_serializer(
                "EventDetail",
                {
                    "eventId": serializers.CharField(max_length=255),
                    "eventType": serializers.CharField(),
                    "eventTime": serializers.DateTimeField(),
                    "storeId": serializers.CharField(),
                    "shoppingTripId": serializers.CharField(),
                    "amount": _money_amount.__class__(required=False, allow_null=True),
                    "reconciliationId": serializers.CharField(required=False, allow_null=True),
                    "refundRequestId": serializers.CharField(required=False, allow_null=True),
                    "declineReason": serializers.CharField(required=False, allow_null=True),
                    "isTest": serializers.BooleanField(),
                },
            ),
        },
    ),
    responses={
        200: inline_serializer(
            "EventAccepted", {"status": serializers.ChoiceField(["ACCEPTED", "DUPLICATE"])}
        ),
        400: _error,
        401: _error,
        503: _error,
    },
)
