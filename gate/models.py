"""Gate policies (versioned per store), their rules and identity lists, and the decision log.

A published version never changes: a change is a new version with its author and reason, and the
store's ``StoreGatePolicy.active_version`` says which one decides. Workflows live in
``gate.services``.
"""

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from core.money import AmountField, CurrencyField
from debt.enums import EscalationLevel
from trips.enums import BalanceStrategy, GateFallback
from trips.models import Store

from .enums import (
    Action,
    BalanceCondition,
    CartHintCondition,
    DecisionSource,
    DefaultAction,
    GateEventType,
    InteractionType,
    OverrideKind,
    RecommendationCondition,
    ShopperRisk,
    VersionStatus,
)


def _choice_array(choices, **kwargs) -> ArrayField:
    return ArrayField(
        models.CharField(max_length=20, choices=choices), default=list, blank=True, **kwargs
    )


class StoreGatePolicy(models.Model):
    """Which policy version decides for a store. No row, or no version: the built-in default."""

    store = models.OneToOneField(Store, on_delete=models.PROTECT, related_name="gate_policy")
    active_version = models.ForeignKey(
        "PolicyVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "store gate policy"
        verbose_name_plural = "store gate policies"

    def __str__(self) -> str:
        return f"gate policy of {self.store.store_id}"


class PolicyVersion(models.Model):
    """One version of a store's gate policy: ordered rules, first match wins, explicit default."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="gate_policy_versions")
    number = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    based_on = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    author = models.CharField(max_length=200, help_text="user:<id>:<name>, or system:<part>")
    reason = models.CharField(max_length=500, blank=True)
    balance_strategy = models.CharField(
        max_length=12,
        choices=BalanceStrategy.choices,
        blank=True,
        help_text="blank: the store's setting",
    )
    fallback = models.CharField(
        max_length=16,
        choices=GateFallback.choices,
        blank=True,
        help_text="what answers when our data cannot be read in time; blank: the store's setting",
    )
    default_action = models.CharField(
        max_length=16, choices=DefaultAction.choices, default=DefaultAction.FOLLOW_AMAZON
    )
    default_reason = models.CharField(
        max_length=100, blank=True, help_text="reason sent when the default denies"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    published_by = models.CharField(max_length=200, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "number"], name="gate_version_number"),
            models.CheckConstraint(
                condition=Q(status__in=VersionStatus.values), name="gate_version_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="DRAFT") | Q(published_at__isnull=False),
                name="gate_version_published_at",
            ),
        ]
        ordering = ["store", "-number"]

    def __str__(self) -> str:
        return f"{self.store.store_id} v{self.number} ({self.status.lower()})"

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT


class IdentityList(models.Model):
    """A named allow or block list of Amazon ``shopperIdentity.id`` values, part of a version."""

    version = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="lists")
    name = models.CharField(max_length=60)
    identities = models.TextField(blank=True, help_text="one shopperIdentity.id per line")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="gate_list_name_per_version")
        ]

    def __str__(self) -> str:
        return self.name

    def identity_set(self) -> frozenset[str]:
        return frozenset(line.strip() for line in self.identities.splitlines() if line.strip())


class PolicyRule(models.Model):
    """Conditions (all that are set must hold) and the action taken when they do."""

    version = models.ForeignKey(PolicyVersion, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveSmallIntegerField(help_text="rules are tried in this order")
    name = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    # --- conditions ----------------------------------------------------------------------------
    recommendation = models.CharField(
        max_length=10, choices=RecommendationCondition.choices, default=RecommendationCondition.ANY
    )
    risks_any = _choice_array(ShopperRisk.choices, help_text="any of these Amazon shopperRisks")
    no_risks = models.BooleanField(default=False, help_text="Amazon sent no known shopperRisk")
    event_types = _choice_array(GateEventType.choices, help_text="empty: any")
    interaction_types = _choice_array(InteractionType.choices, help_text="empty: any")
    balance = models.CharField(
        max_length=12, choices=BalanceCondition.choices, default=BalanceCondition.ANY
    )
    min_outstanding = AmountField(null=True, blank=True, validators=[MinValueValidator(0)])
    max_outstanding = AmountField(null=True, blank=True, validators=[MinValueValidator(0)])
    min_balance_age_hours = models.PositiveIntegerField(null=True, blank=True)
    max_balance_age_hours = models.PositiveIntegerField(null=True, blank=True)
    min_unpaid_trips = models.PositiveIntegerField(null=True, blank=True)
    escalation_levels = _choice_array(EscalationLevel.choices, help_text="empty: any")
    identity_list = models.ForeignKey(
        IdentityList, on_delete=models.PROTECT, null=True, blank=True, related_name="rules"
    )
    cart_hint = models.CharField(
        max_length=8, choices=CartHintCondition.choices, default=CartHintCondition.ANY
    )
    min_cart_total = AmountField(null=True, blank=True, validators=[MinValueValidator(0)])
    max_cart_total = AmountField(null=True, blank=True, validators=[MinValueValidator(0)])
    # --- action --------------------------------------------------------------------------------
    action = models.CharField(max_length=16, choices=Action.choices)
    adjust_amount = AmountField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="ADJUST: the pre-auth; blank: the requested authorizedAmount",
    )
    adjust_add_outstanding = models.BooleanField(
        default=False, help_text="ADJUST: add the shopper's outstanding balance to the pre-auth"
    )
    deny_reason = models.CharField(max_length=100, blank=True)
    deny_risks = _choice_array(
        ShopperRisk.choices, help_text="DENY: shopperRisks to send; empty: Amazon's"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "position"], name="gate_rule_position"),
            models.CheckConstraint(
                condition=Q(action__in=Action.values), name="gate_rule_action_valid"
            ),
        ]
        ordering = ["version", "position"]

    def __str__(self) -> str:
        return f"#{self.position} {self.name}"


class GateDecision(models.Model):
    """The decision log: one row per gate authentication event, written with the decision.

    Inputs without PII (the shopper identity is kept only as a keyed digest; gate ``data`` and
    cart hint items are not kept), Amazon's recommendation, the balance facts used, the rule that
    fired, our answer (the exact response body, repeated for a replayed event id), whether it
    overrode Amazon, the latency and the policy version.
    """

    # Every index and foreign-key check costs each decision, so the log keeps three indexes (the
    # key, the event id, store + time; no LIKE index) and no foreign-key constraints: a checked
    # reference would take a KEY SHARE lock on the one hot store row for every decision. Stores
    # and versions that decided are never deleted.
    gate_event_id = models.CharField(max_length=255)
    store = models.ForeignKey(
        Store,
        on_delete=models.PROTECT,
        related_name="gate_decisions",
        db_index=False,
        db_constraint=False,
    )
    shopping_trip_id = models.CharField(max_length=255)
    identity_digest = models.CharField(max_length=64)
    decided_at = models.DateTimeField(help_text="business time of the decision")
    event_type = models.CharField(max_length=20, choices=GateEventType.choices)
    interaction_type = models.CharField(max_length=20, choices=InteractionType.choices)
    location = models.CharField(max_length=40)
    event_time = models.DateTimeField()
    recommended_authorized = models.BooleanField()
    recommended_risks = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    recommended_amount = AmountField(null=True, blank=True, help_text="Amazon's ADJUST amount")
    authorized_amount = AmountField()
    currency = CurrencyField()
    cart_hint_total = AmountField(null=True, blank=True)
    cart_hint_items = models.PositiveIntegerField(null=True, blank=True)
    balance_strategy = models.CharField(max_length=12, choices=BalanceStrategy.choices)
    outstanding_amount = AmountField(null=True, blank=True)
    unpaid_trips = models.PositiveIntegerField(null=True, blank=True)
    oldest_unpaid_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.CharField(max_length=16, blank=True)
    blocks_entry = models.BooleanField(null=True, blank=True)
    policy_version = models.ForeignKey(
        PolicyVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="decisions",
        db_index=False,
        db_constraint=False,
    )
    rule_position = models.PositiveSmallIntegerField(null=True, blank=True)
    rule_name = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=10, choices=DecisionSource.choices)
    fallback_reason = models.CharField(max_length=20, blank=True)
    authorized = models.BooleanField()
    preauth_amount = AmountField(null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    response_risks = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    response = models.JSONField(help_text="the exact body we answered")
    override = models.CharField(max_length=8, choices=OverrideKind.choices)
    latency_ms = models.FloatField(help_text="from the request to the decision, before the write")
    unknown_values = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["store", "decided_at"], name="gate_decision_store_time"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["gate_event_id"], name="gate_decision_event_unique"),
            models.CheckConstraint(
                condition=Q(source__in=DecisionSource.values), name="gate_decision_source_valid"
            ),
            models.CheckConstraint(
                condition=Q(override__in=OverrideKind.values), name="gate_decision_override_valid"
            ),
            models.CheckConstraint(
                condition=Q(authorized=False) | Q(preauth_amount__isnull=False),
                name="gate_decision_authorized_has_amount",
            ),
        ]

    def __str__(self) -> str:
        verdict = "allow" if self.authorized else "deny"
        return f"{self.gate_event_id}: {verdict}"

    @property
    def overrode_amazon(self) -> bool:
        return self.override != OverrideKind.NONE


class GateDailyFigures(models.Model):
    """Per store and business day (UTC): what the gate decided. Recomputed, never hand-edited."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="gate_daily_figures")
    day = models.DateField()
    decisions = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    denied = models.PositiveIntegerField(default=0)
    amount_overrides = models.PositiveIntegerField(default=0)
    allow_overrides = models.PositiveIntegerField(default=0)
    deny_overrides = models.PositiveIntegerField(default=0)
    fallbacks = models.PositiveIntegerField(default=0)
    high_risk = models.PositiveIntegerField(default=0, help_text="decisions with a high risk")
    unknown_values = models.PositiveIntegerField(default=0)
    risk_counts = models.JSONField(default=dict, blank=True, help_text="shopperRisk → decisions")
    p99_latency_ms = models.FloatField(null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "day"], name="gate_figures_store_day")
        ]
        ordering = ["-day", "store"]
        verbose_name_plural = "gate daily figures"

    def __str__(self) -> str:
        return f"{self.store.store_id} {self.day}"

    def _rate(self, count: int) -> float | None:
        return round(count / self.decisions, 4) if self.decisions else None

    @property
    def accept_rate(self) -> float | None:
        return self._rate(self.accepted)

    @property
    def deny_rate(self) -> float | None:
        return self._rate(self.denied)

    @property
    def amount_override_rate(self) -> float | None:
        return self._rate(self.amount_overrides)

    @property
    def high_risk_rate(self) -> float | None:
        return self._rate(self.high_risk)
