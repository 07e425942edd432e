"""Reconciliation with what Amazon was told, and entries let in against the debt policy."""

from django.db import models

from core.money import AmountField, CurrencyField
from trips.models import ShoppingTrip, Store

from ..enums import DifferenceKind


class ReconciliationRun(models.Model):
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    actor = models.CharField(max_length=200)
    with_balance_book = models.BooleanField(default=False)
    trips_compared = models.PositiveIntegerField(default=0)
    shoppers_compared = models.PositiveIntegerField(default=0)
    differences_found = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"reconciliation {self.pk} ({self.differences_found} differences)"


class ReconciliationDifference(models.Model):
    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="differences")
    kind = models.CharField(max_length=20, choices=DifferenceKind.choices)
    trip = models.ForeignKey(
        ShoppingTrip, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    identity_id = models.CharField(max_length=255, blank=True)
    currency = CurrencyField()
    ours = AmountField(null=True, blank=True, help_text="outstanding by our books")
    theirs = AmountField(null=True, blank=True, help_text="outstanding as Amazon was told")
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["run", "kind"], name="difference_run_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind}: ours {self.ours} / theirs {self.theirs}"


class EntryPolicyBreach(models.Model):
    """A shopper with a blocking balance who was let in: one row per gate event, alerted once."""

    gate_event_ref = models.CharField(max_length=255, unique=True)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    identity_id = models.CharField(max_length=255)
    currency = CurrencyField()
    occurred_at = models.DateTimeField()
    blocking_amount = AmountField()
    debts = models.PositiveIntegerField()
    detected_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.identity_id} let in at {self.occurred_at} owing {self.blocking_amount}"
