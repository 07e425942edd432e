"""Debts (one per unpaid trip), their append-only ledger, and each shopper's standing."""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from core.money import AmountField, CurrencyField
from trips.models import Shopper, ShoppingTrip, Store

from ..enums import (
    DENYING_LEVELS,
    NEGATIVE_KINDS,
    POSITIVE_KINDS,
    ZERO_KINDS,
    DebtRootCause,
    DebtState,
    EscalationLevel,
    LedgerEntryKind,
)

# Amounts in the ledger are signed: incurred is positive, recovered/written off/reversed negative.
SIGNED_MAX_DIGITS = 12
ZERO = Decimal("0")


class Debt(models.Model):
    """What one trip still owes, and why. The outstanding amount is the sum of its ledger.

    Every amount the trip fell short by (``cart_total - settled_amount``, the card settlement) is,
    at any time, exactly one of: outstanding, recovered later, written off, or reversed (not owed).
    A check constraint holds that sum. What Amazon was told (contract §4) follows from it:
    total = ``cart_total - reversed_amount``, settled = ``settled_amount + recovered_amount``.
    """

    trip = models.OneToOneField(ShoppingTrip, on_delete=models.PROTECT, related_name="debt")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="debts")
    shopper = models.ForeignKey(
        Shopper, on_delete=models.PROTECT, null=True, blank=True, related_name="debts"
    )
    shopper_identity_id = models.CharField(max_length=255, blank=True, db_index=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_tail = models.CharField(max_length=4, blank=True)
    currency = CurrencyField()
    cart_total = AmountField()
    settled_amount = AmountField(help_text="collected on the card by the payment lifecycle")
    outstanding_amount = AmountField(help_text="kept equal to the sum of the ledger")
    recovered_amount = AmountField(default=ZERO, help_text="paid later (portal, phone)")
    written_off_amount = AmountField(default=ZERO)
    reversed_amount = AmountField(default=ZERO, help_text="found not owed (dispute upheld)")
    root_cause = models.CharField(max_length=24, choices=DebtRootCause.choices)
    state = models.CharField(max_length=12, choices=DebtState.choices, default=DebtState.OPEN)
    incurred_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=DebtState.values), name="debt_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(root_cause__in=DebtRootCause.values), name="debt_root_cause_valid"
            ),
            models.CheckConstraint(
                condition=Q(outstanding_amount__gte=0), name="debt_outstanding_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(settled_amount__gte=0) & Q(settled_amount__lte=F("cart_total")),
                name="debt_settled_bounds",
            ),
            models.CheckConstraint(
                condition=Q(outstanding_amount__lte=F("cart_total") - F("settled_amount")),
                name="debt_outstanding_lte_shortfall",
            ),
            models.CheckConstraint(
                condition=Q(recovered_amount__gte=0)
                & Q(written_off_amount__gte=0)
                & Q(reversed_amount__gte=0),
                name="debt_resolution_amounts_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(
                    cart_total=F("settled_amount")
                    + F("outstanding_amount")
                    + F("recovered_amount")
                    + F("written_off_amount")
                    + F("reversed_amount")
                ),
                name="debt_shortfall_accounted_for",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "incurred_at"], name="debt_state_age_idx"),
            models.Index(fields=["shopper_identity_id", "state"], name="debt_shopper_state_idx"),
        ]

    def __str__(self) -> str:
        return f"debt {self.pk} {self.outstanding_amount} {self.currency} ({self.state})"

    @property
    def shortfall(self) -> Decimal:
        return self.cart_total - self.settled_amount

    @property
    def amazon_total(self) -> Decimal:
        """The total to report to Amazon: the cart, less what was found not owed."""
        return self.cart_total - self.reversed_amount

    @property
    def amazon_settled(self) -> Decimal:
        """The settled amount to report to Amazon: the card settlement plus later payments."""
        return self.settled_amount + self.recovered_amount

    @property
    def amazon_outstanding(self) -> Decimal:
        """What Amazon's balance book should show for this trip (write-offs are not reported)."""
        return self.amazon_total - self.amazon_settled


class DebtLedgerEntry(models.Model):
    """One movement of a debt. Inserted, never updated or deleted (a trigger refuses both)."""

    debt = models.ForeignKey(Debt, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=20, choices=LedgerEntryKind.choices)
    amount = models.DecimalField(max_digits=SIGNED_MAX_DIGITS, decimal_places=2)
    currency = CurrencyField()
    actor = models.CharField(max_length=200)
    reason = models.CharField(max_length=500, blank=True)
    reference = models.CharField(
        max_length=300,
        null=True,
        blank=True,
        unique=True,
        help_text="idempotency key of the movement (payment id, approval id ...)",
    )
    business_time = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=LedgerEntryKind.values), name="ledger_kind_valid"
            ),
            models.CheckConstraint(
                condition=(Q(kind__in=[str(k) for k in POSITIVE_KINDS]) & Q(amount__gt=0))
                | (Q(kind__in=[str(k) for k in NEGATIVE_KINDS]) & Q(amount__lt=0))
                | (Q(kind__in=[str(k) for k in ZERO_KINDS]) & Q(amount=0)),
                name="ledger_amount_sign_matches_kind",
            ),
        ]
        indexes = [models.Index(fields=["kind", "business_time"], name="ledger_kind_time_idx")]
        verbose_name_plural = "debt ledger entries"

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"


class ShopperStanding(models.Model):
    """A shopper's debt position per currency, across trips and stores: the gate's one lookup.

    Derived data: rebuilt from the debts by ``debt.services.standing.standing_recalculate`` in the
    same transaction as every debt change, and re-assessed by the escalation sweep as time passes.
    """

    identity_id = models.CharField(max_length=255)
    currency = CurrencyField()
    outstanding_amount = AmountField(default=ZERO)
    blocking_amount = AmountField(
        default=ZERO,
        help_text="what blocks entry under the debt policy (open debt; disputed and written-off "
        "debt as the policy says)",
    )
    disputed_amount = AmountField(default=ZERO)
    written_off_amount = AmountField(default=ZERO)
    unpaid_trips = models.PositiveIntegerField(default=0)
    oldest_unpaid_at = models.DateTimeField(null=True, blank=True)
    recent_debts = models.PositiveIntegerField(
        default=0, help_text="debts incurred in the policy's pattern window"
    )
    late_or_unpaid_debts = models.PositiveIntegerField(
        default=0, help_text="debts in the pattern window not paid promptly"
    )
    escalation_level = models.CharField(
        max_length=16, choices=EscalationLevel.choices, default=EscalationLevel.NONE
    )
    escalation_reasons = models.CharField(max_length=300, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    denial_until = models.DateTimeField(
        null=True, blank=True, help_text="extended denial lasts at least until then"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["identity_id", "currency"], name="standing_unique"),
            models.CheckConstraint(
                condition=Q(outstanding_amount__gte=0), name="standing_outstanding_gte_0"
            ),
        ]
        indexes = [
            models.Index(
                fields=["escalation_level"],
                name="standing_escalated_idx",
                condition=~Q(escalation_level="NONE"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.identity_id}: {self.outstanding_amount} {self.currency}"

    @property
    def blocks_entry(self) -> bool:
        return self.blocking_amount > 0 or self.escalation_level in DENYING_LEVELS

    @property
    def high_risk(self) -> bool:
        """Whether the gate should add ``NonpaymentHighRisk`` to its answer."""
        return self.escalation_level in (
            EscalationLevel.EXTENDED_DENIAL,
            EscalationLevel.FRAUD_REVIEW,
        )
