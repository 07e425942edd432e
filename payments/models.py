"""The trip's charge with Amazon, every call we made to Amazon, and every event Amazon sent us.

No workflows here: state changes go through ``payments.transitions.charge_transition`` and the
services in ``payments.services``.
"""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from core.money import AmountField, CurrencyField
from trips.models import PaymentStatusReport, ShoppingTrip

from .enums import CallOutcome, ChargeState, EventStatus


class Charge(models.Model):
    """What we ask of Amazon's Payment Service for one trip: adjust, then capture or cancel.

    ``adjust_seq`` numbers our adjust requests and ``probe_count`` our re-drives, so every
    outbound call has an idempotency key derived from this row (``adjust:<pk>:<seq>``,
    ``capture:<pk>``, ``cancel:<pk>``).
    """

    trip = models.OneToOneField(ShoppingTrip, on_delete=models.PROTECT, related_name="charge")
    state = models.CharField(max_length=20, choices=ChargeState.choices)
    currency = CurrencyField()
    cart_total = AmountField(help_text="what the shopper owes for the trip")
    # Adjust phase.
    adjust_seq = models.PositiveIntegerField(default=0)
    requested_amount = AmountField(null=True, blank=True, help_text="amount of the current adjust")
    approved_amount = AmountField(
        null=True, blank=True, help_text="authorizedAmount of the current APPROVED adjust"
    )
    pending_polls = models.PositiveIntegerField(default=0)
    search_low = AmountField(default=Decimal("0"), help_text="largest amount approved so far")
    search_high = AmountField(null=True, blank=True, help_text="smallest amount declined")
    search_attempts = models.PositiveSmallIntegerField(default=0)
    # Capture phase.
    capture_amount = AmountField(null=True, blank=True)
    capture_requested_at = models.DateTimeField(null=True, blank=True)
    capture_initiated_at = models.DateTimeField(null=True, blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True, help_text="Capture* event time")
    decline_reason = models.CharField(max_length=40, blank=True)
    release_confirmed_at = models.DateTimeField(null=True, blank=True)
    # Receipt data (contract §3.5): brand and tail only, never the expiry or other EMV secrets.
    card_brand = models.CharField(max_length=40, blank=True)
    card_tail = models.CharField(max_length=4, blank=True)
    reconciliation_id = models.CharField(max_length=255, blank=True)
    transactional_data_at = models.DateTimeField(null=True, blank=True)
    # Re-drives by the janitor and the deadline watcher, and review flags.
    probe_count = models.PositiveIntegerField(default=0)
    last_probe_at = models.DateTimeField(null=True, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True)
    flag_reason = models.CharField(max_length=300, blank=True)
    opened_at = models.DateTimeField(help_text="business time the charge was opened")
    state_changed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=ChargeState.values), name="charge_state_valid"
            ),
            models.CheckConstraint(condition=Q(cart_total__gte=0), name="charge_total_gte_0"),
            models.CheckConstraint(
                condition=Q(requested_amount__isnull=True) | Q(requested_amount__gt=0),
                name="charge_requested_gt_0",
            ),
            models.CheckConstraint(
                condition=Q(approved_amount__isnull=True) | Q(approved_amount__gte=0),
                name="charge_approved_gte_0",
            ),
            # Never capture zero, more than approved, or more than the cart.
            models.CheckConstraint(
                condition=Q(capture_amount__isnull=True)
                | (
                    Q(capture_amount__gt=0)
                    & Q(approved_amount__isnull=False)
                    & Q(capture_amount__lte=F("approved_amount"))
                    & Q(capture_amount__lte=F("cart_total"))
                ),
                name="charge_capture_within_approval",
            ),
            models.CheckConstraint(
                condition=Q(search_low__gte=0) & Q(search_low__lte=F("cart_total")),
                name="charge_search_low_bounds",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "state_changed_at"], name="charge_state_age_idx"),
        ]

    def __str__(self) -> str:
        return f"charge {self.pk} ({self.state})"

    @property
    def audit_id(self) -> str:
        return str(self.pk)

    @property
    def searching(self) -> bool:
        return self.search_high is not None


class AmazonCall(models.Model):
    """One request to the Payment Service and its answer, minus PII. Append-only."""

    trip = models.ForeignKey(
        ShoppingTrip, on_delete=models.PROTECT, related_name="amazon_calls", null=True
    )
    charge = models.ForeignKey(
        Charge, on_delete=models.PROTECT, related_name="calls", null=True, blank=True
    )
    operation = models.CharField(max_length=30)
    outbox_key = models.CharField(max_length=300, blank=True)
    attempt = models.PositiveIntegerField(default=1)
    request = models.JSONField(default=dict)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=CallOutcome.choices)
    error = models.CharField(max_length=300, blank=True)
    elapsed_ms = models.PositiveIntegerField(default=0)
    business_time = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["trip", "id"], name="amazon_call_trip_idx")]

    def __str__(self) -> str:
        return f"{self.operation} {self.http_status or self.error} ({self.outcome})"


class AmazonEvent(models.Model):
    """One event-feed delivery (contract §5), stored raw under its unique ``detail.eventId``."""

    event_id = models.CharField("detail.eventId", max_length=255, unique=True)
    envelope_id = models.CharField(max_length=255, blank=True)
    detail_type = models.CharField(max_length=40)
    event_type = models.CharField(max_length=60)
    source = models.CharField(max_length=255)
    store_ref = models.CharField(max_length=255, blank=True)
    trip_ref = models.CharField(max_length=255, blank=True)
    trip = models.ForeignKey(
        ShoppingTrip, on_delete=models.PROTECT, related_name="amazon_events", null=True, blank=True
    )
    event_time = models.DateTimeField(null=True, blank=True)
    is_test = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=EventStatus.choices)
    note = models.CharField(max_length=300, blank=True)
    body = models.TextField(help_text="the raw JSON as delivered")
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(help_text="business time of receipt")
    processed_at = models.DateTimeField(null=True, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=EventStatus.values), name="amazon_event_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["received_at"],
                name="amazon_event_open_idx",
                condition=Q(status="RECEIVED"),
            ),
            models.Index(fields=["trip_ref"], name="amazon_event_trip_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({self.status})"


class FeedbackReport(PaymentStatusReport):
    """Report Payment Status rows as the payments admin shows them (delivery, age, outcome)."""

    class Meta:
        proxy = True
        verbose_name = "payment status report"
        verbose_name_plural = "payment status feedback"
