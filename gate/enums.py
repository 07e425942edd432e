"""Choices of the gate: Amazon's vocabularies (contract §2.1) and the policy's own."""

from django.db import models


class ShopperRisk(models.TextChoices):
    INVALID_CARD = "InvalidCard"
    CUSTOMER_FRAUD = "CustomerFraud"
    BAD_DEBT = "BadDebt"
    EXPIRED_CARD = "ExpiredCard"
    NONPAYMENT_HIGH_RISK = "NonpaymentHighRisk"


# Risks that only say "this shopper owes money": the store's balance strategy judges them.
BALANCE_RISKS = frozenset({ShopperRisk.BAD_DEBT, ShopperRisk.NONPAYMENT_HIGH_RISK})
# Risks counted as "high-risk shoppers" in the daily figures and the shift alert.
HIGH_RISKS = frozenset(
    {ShopperRisk.CUSTOMER_FRAUD, ShopperRisk.BAD_DEBT, ShopperRisk.NONPAYMENT_HIGH_RISK}
)


class GateEventType(models.TextChoices):
    CREDIT_CARD = "CREDIT_CARD"
    AMAZON_ONE = "AMAZON_ONE"
    QR = "QR"
    MOBILE_WALLET = "MOBILE_WALLET"
    UNRECOGNIZED = "UNRECOGNIZED"


class InteractionType(models.TextChoices):
    TAP = "TAP"
    INSERT = "INSERT"
    SWIPE = "SWIPE"
    SCAN = "SCAN"
    PALM = "PALM"
    UNRECOGNIZED = "UNRECOGNIZED", "unrecognized (an unknown value was sent)"


class Action(models.TextChoices):
    FOLLOW_AMAZON = "FOLLOW_AMAZON", "follow Amazon's recommendation"
    ALLOW = "ALLOW", "allow at the requested pre-auth"
    DENY = "DENY", "deny"
    ADJUST = "ADJUST", "allow with another pre-auth amount (ADJUST)"


class DefaultAction(models.TextChoices):
    FOLLOW_AMAZON = "FOLLOW_AMAZON", "follow Amazon's recommendation"
    ALLOW = "ALLOW", "allow at the requested pre-auth"
    DENY = "DENY", "deny"


class RecommendationCondition(models.TextChoices):
    ANY = "ANY", "any"
    AUTHORIZED = "AUTHORIZED", "Amazon recommends entry"
    DENIED = "DENIED", "Amazon recommends denial"


class BalanceCondition(models.TextChoices):
    ANY = "ANY", "any"
    NONE = "NONE", "no outstanding balance"
    OUTSTANDING = "OUTSTANDING", "an outstanding balance"
    BLOCKING = "BLOCKING", "a balance or escalation that blocks entry"


class CartHintCondition(models.TextChoices):
    ANY = "ANY", "any"
    PRESENT = "PRESENT", "a cart hint was sent"
    ABSENT = "ABSENT", "no cart hint"


class VersionStatus(models.TextChoices):
    DRAFT = "DRAFT", "draft (editable, never used for real decisions)"
    PUBLISHED = "PUBLISHED", "published (immutable)"


class DecisionSource(models.TextChoices):
    POLICY = "POLICY", "the store's policy"
    FALLBACK = "FALLBACK", "fallback: our data could not be read in time"


class FallbackReason(models.TextChoices):
    BALANCE_TIMEOUT = "BALANCE_TIMEOUT", "balance lookup missed its budget"
    BALANCE_ERROR = "BALANCE_ERROR", "balance lookup failed"
    POLICY_TIMEOUT = "POLICY_TIMEOUT", "policy load missed its budget"
    POLICY_ERROR = "POLICY_ERROR", "policy load failed"


class OverrideKind(models.TextChoices):
    NONE = "NONE", "followed Amazon"
    ALLOW = "ALLOW", "allowed against Amazon's denial"
    DENY = "DENY", "denied against Amazon's authorization"
    AMOUNT = "AMOUNT", "changed the pre-auth amount"


class Reason(models.TextChoices):
    """Reason codes we send in denials (free text for Amazon's logs, contract §2.2)."""

    OUTSTANDING_BALANCE = "OUTSTANDING_BALANCE"
    AMAZON_RECOMMENDATION = "AMAZON_RECOMMENDATION"
    POLICY_RULE = "POLICY_RULE"
    POLICY_DEFAULT = "POLICY_DEFAULT"
    FALLBACK_DENY = "FALLBACK_DENY"
