"""The debt policy: escalation thresholds, reminders, disputes, write-off limits.

One policy per currency, global across stores: a shopper's standing (what the gate reads) spans
every store, so the rules that set it must too. Edited in admin by users with
``debt.change_debtpolicy`` (the Finance lead role); every change is audited.
"""

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from core.money import AmountField, CurrencyField


class DebtPolicy(models.Model):
    currency = CurrencyField(unique=True)

    # Entry effects of non-open debt ------------------------------------------------------------
    written_off_blocks_entry = models.BooleanField(
        default=True,
        help_text="written-off debt still blocks entry at our gate (Amazon keeps blocking anyway: "
        "no report is sent on write-off)",
    )
    dispute_pauses_block = models.BooleanField(
        default=False, help_text="a disputed debt stops blocking entry while the dispute is open"
    )
    dispute_pauses_reminders = models.BooleanField(default=True)

    # Reminders -------------------------------------------------------------------------------
    reminder_interval_days = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1)]
    )
    max_reminders = models.PositiveSmallIntegerField(default=4)

    # Pattern detection: a one-time failure paid promptly is not a pattern --------------------
    prompt_payment_days = models.PositiveSmallIntegerField(
        default=7, help_text="a debt paid within this many days counts as paid promptly"
    )
    pattern_window_days = models.PositiveSmallIntegerField(default=90)
    pattern_min_debts = models.PositiveSmallIntegerField(
        default=2, help_text="this many debts in the window (or one not paid promptly) is a pattern"
    )

    # DENIAL ----------------------------------------------------------------------------------
    denial_min_trips = models.PositiveSmallIntegerField(default=2)
    denial_min_amount = AmountField(default=Decimal("50.00"))
    denial_min_age_days = models.PositiveSmallIntegerField(default=14)

    # EXTENDED_DENIAL (the gate adds NonpaymentHighRisk) ----------------------------------------
    extended_min_trips = models.PositiveSmallIntegerField(default=3)
    extended_min_amount = AmountField(
        default=Decimal("100.00"), help_text="balance above this is high risk (Amazon: 100.00)"
    )
    velocity_window_days = models.PositiveSmallIntegerField(default=30)
    velocity_min_debts = models.PositiveSmallIntegerField(default=3)
    extended_denial_days = models.PositiveSmallIntegerField(
        default=14, help_text="after payment, entry stays denied this long"
    )

    # FRAUD_REVIEW (a case in the investigation queue) -------------------------------------------
    fraud_min_debts = models.PositiveSmallIntegerField(
        default=5, help_text="debts in the pattern window that open a fraud case"
    )
    fraud_min_amount = AmountField(default=Decimal("500.00"))

    # Write-off approval -----------------------------------------------------------------------
    write_off_finance_limit = AmountField(
        default=Decimal("100.00"),
        help_text="Finance may approve write-offs up to this amount; above it needs the "
        "'approve large write-offs' permission (Finance lead)",
    )

    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "debt policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(denial_min_amount__gte=0)
                & Q(extended_min_amount__gte=0)
                & Q(fraud_min_amount__gte=0)
                & Q(write_off_finance_limit__gte=0),
                name="debt_policy_amounts_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return f"debt policy ({self.currency})"
