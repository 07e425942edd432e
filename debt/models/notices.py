"""Every message sent (or not) to a shopper about their debt.

No address and no body is stored: the email is fetched from Amazon (Get Shopper Identity) at send
time and the body is rendered from templates and the debt rows. ``message_id`` lets a bounce
report from the mail provider find the notice.
"""

from django.db import models
from django.db.models import Q

from core.money import AmountField, CurrencyField
from trips.models import Store

from ..enums import NoticeKind, NoticeStatus
from .debts import Debt
from .workflows import DebtPayment


class DebtNotice(models.Model):
    key = models.CharField(max_length=300, unique=True, help_text="idempotency key")
    kind = models.CharField(max_length=10, choices=NoticeKind.choices)
    identity_id = models.CharField(max_length=255)
    currency = CurrencyField()
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, related_name="+", help_text="asked for the email"
    )
    debt = models.ForeignKey(
        Debt, on_delete=models.PROTECT, null=True, blank=True, related_name="notices"
    )
    payment = models.ForeignKey(
        DebtPayment, on_delete=models.PROTECT, null=True, blank=True, related_name="notices"
    )
    status = models.CharField(
        max_length=10, choices=NoticeStatus.choices, default=NoticeStatus.PENDING
    )
    balance_amount = AmountField(null=True, blank=True, help_text="the balance the email stated")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True, help_text="error class, no PII")
    message_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=NoticeStatus.values), name="notice_status_valid"
            ),
        ]
        indexes = [
            models.Index(
                fields=["identity_id", "currency", "created_at"], name="notice_identity_time_idx"
            ),
            models.Index(fields=["status", "created_at"], name="notice_status_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} notice {self.pk} ({self.status})"
