"""The history of each shopper's escalation level, and the fraud investigation queue."""

from django.db import models
from django.db.models import Q

from core.money import CurrencyField

from ..enums import EscalationLevel, FraudCaseStatus


class EscalationChange(models.Model):
    """One change of a shopper's level (append-only; a trigger refuses UPDATE and DELETE)."""

    identity_id = models.CharField(max_length=255)
    currency = CurrencyField()
    from_level = models.CharField(max_length=16, choices=EscalationLevel.choices)
    to_level = models.CharField(max_length=16, choices=EscalationLevel.choices)
    reasons = models.CharField(max_length=300, blank=True)
    actor = models.CharField(max_length=200)
    business_time = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["identity_id", "currency", "id"], name="escalation_identity_idx")
        ]

    def __str__(self) -> str:
        return f"{self.identity_id}: {self.from_level} -> {self.to_level}"


class FraudReviewCase(models.Model):
    """A shopper whose pattern reached the fraud thresholds, waiting for an investigator.

    While a case is open, or once fraud is confirmed, the shopper stays at FRAUD_REVIEW.
    """

    identity_id = models.CharField(max_length=255)
    currency = CurrencyField()
    status = models.CharField(
        max_length=10, choices=FraudCaseStatus.choices, default=FraudCaseStatus.OPEN
    )
    reasons = models.CharField(max_length=300)
    opened_at = models.DateTimeField()
    closed_by = models.CharField(max_length=200, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=FraudCaseStatus.values), name="fraud_case_status_valid"
            ),
            models.UniqueConstraint(
                fields=["identity_id", "currency"],
                condition=Q(status="OPEN"),
                name="fraud_case_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"fraud case {self.pk} {self.identity_id} ({self.status})"
