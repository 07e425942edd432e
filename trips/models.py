"""Stores, shoppers, shopping trips and their gate and entry events. No workflows here."""

from datetime import timedelta
from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from core.money import AmountField, CurrencyField

from .enums import (
    BadCartPolicy,
    BalanceStrategy,
    DeclineStrategy,
    FraudAbuseMode,
    GateFallback,
    TripState,
)

amazon_id = RegexValidator(r"^[0-9a-zA-Z_-]+$", "letters, digits, '_' and '-' only")


class Store(models.Model):
    """A JWO store as onboarded with Amazon, with its payment, gate and debt policies."""

    store_id = models.CharField(
        "Amazon storeId", max_length=255, unique=True, validators=[amazon_id]
    )
    name = models.CharField(max_length=200)
    currency = CurrencyField(default="USD")
    time_zone = models.CharField(max_length=64, default="UTC")
    preauth_amount = AmountField(default=Decimal("50.00"), validators=[MinValueValidator(0)])
    preauth_window_hours = models.PositiveIntegerField(default=46)
    settle_margin_hours = models.PositiveIntegerField(
        default=4, help_text="settle this long before the pre-auth window closes"
    )
    refund_window_days = models.PositiveIntegerField(default=30)
    # Gate policy settings (the detailed rules live in the gate app).
    fa_mode = models.CharField(
        max_length=24, choices=FraudAbuseMode.choices, default=FraudAbuseMode.AMAZON_RECOMMENDATION
    )
    balance_strategy = models.CharField(
        max_length=12, choices=BalanceStrategy.choices, default=BalanceStrategy.OWN_BOOKS
    )
    gate_fallback = models.CharField(
        max_length=16, choices=GateFallback.choices, default=GateFallback.FOLLOW_AMAZON
    )
    gate_budget_ms = models.PositiveIntegerField(
        default=300, help_text="internal decision budget, well under Amazon's 2 s"
    )
    # Debt policy settings.
    decline_strategy = models.CharField(
        max_length=16, choices=DeclineStrategy.choices, default=DeclineStrategy.SEARCH_LOWER
    )
    decline_search_attempts = models.PositiveSmallIntegerField(default=4)
    bad_cart_policy = models.CharField(
        max_length=20, choices=BadCartPolicy.choices, default=BadCartPolicy.CHARGE_KNOWN_ITEMS
    )
    deny_entry_with_debt = models.BooleanField(default=True)
    high_risk_threshold = AmountField(default=Decimal("100.00"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(preauth_amount__gte=0), name="store_preauth_gte_0"),
            models.CheckConstraint(
                condition=Q(preauth_window_hours__gt=models.F("settle_margin_hours")),
                name="store_margin_inside_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.store_id})"


class Shopper(models.Model):
    """A shopper as Amazon identifies them: ``shopperIdentity.id``, tied to a payment instrument."""

    identity_id = models.CharField("Amazon shopperIdentity.id", max_length=255, unique=True)
    first_seen_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.identity_id


class ShoppingTrip(models.Model):
    """One visit, keyed by (store, Amazon shoppingTripId), from the gate to the last cent."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="trips")
    shopping_trip_id = models.CharField(max_length=255, validators=[amazon_id])
    shopper = models.ForeignKey(
        Shopper, on_delete=models.PROTECT, null=True, blank=True, related_name="trips"
    )
    state = models.CharField(max_length=14, choices=TripState.choices, default=TripState.ENTERED)
    currency = CurrencyField()
    preauth_amount = AmountField(null=True, blank=True)
    preauth_at = models.DateTimeField(null=True, blank=True)
    preauth_deadline = models.DateTimeField(null=True, blank=True)
    settle_by = models.DateTimeField(null=True, blank=True)
    cart_total = AmountField(null=True, blank=True)
    settled_amount = AmountField(default=Decimal("0"))
    needs_review_reason = models.CharField(max_length=300, blank=True)
    state_changed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "shopping_trip_id"], name="trip_unique_key"),
            models.CheckConstraint(
                condition=Q(state__in=TripState.values), name="trip_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(cart_total__isnull=True) | Q(cart_total__gte=0),
                name="trip_cart_total_gte_0",
            ),
            models.CheckConstraint(condition=Q(settled_amount__gte=0), name="trip_settled_gte_0"),
            models.CheckConstraint(
                condition=Q(cart_total__isnull=True)
                | Q(settled_amount__lte=models.F("cart_total")),
                name="trip_settled_lte_total",
            ),
            models.CheckConstraint(
                condition=Q(preauth_amount__isnull=True) | Q(preauth_amount__gte=0),
                name="trip_preauth_gte_0",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "settle_by"], name="trip_state_settle_idx"),
            models.Index(fields=["state", "state_changed_at"], name="trip_state_age_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.store.store_id}/{self.shopping_trip_id}"

    @property
    def audit_id(self) -> str:
        return f"{self.store_id}:{self.shopping_trip_id}"

    @property
    def outstanding_amount(self) -> Decimal:
        if self.cart_total is None:
            return Decimal("0")
        return self.cart_total - self.settled_amount


def settlement_deadlines(store: Store, preauth_at) -> tuple:
    """(pre-auth deadline, settle-by) for a pre-auth taken at ``preauth_at`` (contract §0.9)."""
    deadline = preauth_at + timedelta(hours=store.preauth_window_hours)
    return deadline, deadline - timedelta(hours=store.settle_margin_hours)


class GateEvent(models.Model):
    """A gate authentication event (the Shopper Authorization call) and the decision taken."""

    gate_event_id = models.CharField("gateAuthenticationEvent.id", max_length=255, unique=True)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="gate_events")
    trip = models.ForeignKey(ShoppingTrip, on_delete=models.PROTECT, related_name="gate_events")
    shopper = models.ForeignKey(Shopper, on_delete=models.PROTECT, related_name="gate_events")
    event_type = models.CharField(max_length=20)
    interaction_type = models.CharField(max_length=20)
    occurred_at = models.DateTimeField()
    authorized = models.BooleanField()
    preauth_amount = AmountField(null=True, blank=True)
    currency = CurrencyField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.gate_event_id


class TripAuthEvent(models.Model):
    """An entry event from the cart (``shoppingTrip.authEvents[]``); a group trip has several."""

    trip = models.ForeignKey(ShoppingTrip, on_delete=models.CASCADE, related_name="auth_events")
    auth_event_id = models.CharField(max_length=255)
    occurred_at = models.DateTimeField()
    location = models.CharField(max_length=20, blank=True)
    payload_type = models.CharField(max_length=12)
    scan_result_id = models.CharField(max_length=255, blank=True)
    scan_result_type = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["trip", "auth_event_id"], name="trip_auth_event_unique")
        ]

    def __str__(self) -> str:
        return self.auth_event_id


class PaymentStatusReport(models.Model):
    """One Report Payment Status message for a trip (contract §4): total vs settled at a time.

    Reports of a trip carry strictly increasing ``status_time_ms`` so Amazon keeps the latest.
    Delivery goes through the outbox (kind ``amazon.report_payment_status``).
    """

    trip = models.ForeignKey(ShoppingTrip, on_delete=models.PROTECT, related_name="status_reports")
    sequence = models.PositiveIntegerField()
    total_amount = AmountField()
    settled_amount = AmountField()
    currency = CurrencyField()
    status_time_ms = models.BigIntegerField()
    reason = models.CharField(max_length=60)
    outcome = models.CharField(max_length=12, blank=True, help_text="Accepted or Rejected")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["trip", "sequence"], name="status_report_sequence"),
            models.CheckConstraint(
                condition=Q(settled_amount__gte=0)
                & Q(settled_amount__lte=models.F("total_amount")),
                name="status_report_settled_bounds",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.trip_id}#{self.sequence} {self.settled_amount}/{self.total_amount}"

    @property
    def outbox_key(self) -> str:
        return f"payment-status:{self.pk}"
