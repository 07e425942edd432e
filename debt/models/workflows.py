"""Recovery payments, write-off requests (maker-checker) and disputes."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from core.money import AmountField, CurrencyField

from ..enums import (
    DisputeResolutionReason,
    DisputeSource,
    DisputeStatus,
    PaymentMethod,
    WriteOffReason,
    WriteOffStatus,
)
from .debts import Debt

ZERO = Decimal("0")


class DebtPayment(models.Model):
    """Money received from a shopper for their debt (by phone or through the portal).

    Idempotent on ``idempotency_key``: the portal passes its Stripe session/payment id, the staff
    form a key minted when the form was shown, so a double submit records one payment.
    """

    idempotency_key = models.CharField(max_length=200, unique=True)
    method = models.CharField(max_length=16, choices=PaymentMethod.choices)
    identity_id = models.CharField(max_length=255, db_index=True)
    currency = CurrencyField()
    amount = AmountField()
    applied_amount = AmountField(default=ZERO)
    unapplied_amount = AmountField(
        default=ZERO, help_text="received but owed to no debt: to refund (an alert is raised)"
    )
    external_reference = models.CharField(
        max_length=255, blank=True, help_text="Stripe payment id, phone receipt number ..."
    )
    actor = models.CharField(max_length=200)
    received_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="debt_payment_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(applied_amount__gte=0)
                & Q(unapplied_amount__gte=0)
                & Q(amount=F("applied_amount") + F("unapplied_amount")),
                name="debt_payment_fully_allocated",
            ),
        ]

    def __str__(self) -> str:
        return f"payment {self.pk} {self.amount} {self.currency} ({self.method})"


class DebtPaymentAllocation(models.Model):
    """The part of a payment applied to one debt (one RECOVERED ledger movement)."""

    payment = models.ForeignKey(DebtPayment, on_delete=models.PROTECT, related_name="allocations")
    debt = models.ForeignKey(Debt, on_delete=models.PROTECT, related_name="allocations")
    amount = AmountField()
    cleared_debt = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payment", "debt"], name="allocation_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of payment {self.payment_id} to debt {self.debt_id}"


class WriteOffRequest(models.Model):
    """Maker-checker: one user asks to write off an amount, another (allowed for it) approves."""

    debt = models.ForeignKey(Debt, on_delete=models.PROTECT, related_name="write_off_requests")
    amount = AmountField()
    currency = CurrencyField()
    reason_code = models.CharField(max_length=20, choices=WriteOffReason.choices)
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        max_length=10, choices=WriteOffStatus.choices, default=WriteOffStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)

    class Meta:
        permissions = [
            ("approve_write_off", "Can approve write-offs up to the policy's Finance limit"),
            ("approve_large_write_off", "Can approve write-offs above the Finance limit"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="write_off_amount_gt_0"),
            models.CheckConstraint(
                condition=Q(status__in=WriteOffStatus.values), name="write_off_status_valid"
            ),
            # The database itself refuses a request decided by its own maker.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="write_off_maker_is_not_checker",
            ),
            models.UniqueConstraint(
                fields=["debt"], condition=Q(status="PENDING"), name="write_off_one_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"write-off {self.pk}: {self.amount} {self.currency} ({self.status})"


class DebtDispute(models.Model):
    """A shopper or staff contests a debt; resolved as upheld (not owed) or rejected (owed)."""

    debt = models.ForeignKey(Debt, on_delete=models.PROTECT, related_name="disputes")
    source = models.CharField(max_length=8, choices=DisputeSource.choices)
    opened_by = models.CharField(max_length=200)
    statement = models.TextField(max_length=2000, blank=True)
    status = models.CharField(
        max_length=10, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    opened_at = models.DateTimeField()
    resolved_by = models.CharField(max_length=200, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_reason = models.CharField(
        max_length=20, choices=DisputeResolutionReason.choices, blank=True
    )
    resolution_note = models.CharField(max_length=500, blank=True)
    reversed_amount = AmountField(default=ZERO)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DisputeStatus.values), name="dispute_status_valid"
            ),
            models.UniqueConstraint(
                fields=["debt"], condition=Q(status="OPEN"), name="dispute_one_open"
            ),
            models.CheckConstraint(
                condition=Q(reversed_amount__gte=0), name="dispute_reversed_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"dispute {self.pk} on debt {self.debt_id} ({self.status})"
