from django.db import models


class TripState(models.TextChoices):
    ENTERED = "ENTERED", "entered (gate authorized, no cart yet)"
    DENIED = "DENIED", "denied at the gate"
    BAD_CART = "BAD_CART", "held in the bad-cart queue"
    PRICED = "PRICED", "priced, awaiting payment"
    EMPTY = "EMPTY", "empty cart or zero total, pre-auth to release"
    SETTLING = "SETTLING", "payment in progress with Amazon"
    NEEDS_REVIEW = "NEEDS_REVIEW", "parked for an operator"
    SETTLED = "SETTLED", "paid in full"
    SHORTFALL = "SHORTFALL", "settled with an unpaid balance (bad debt)"
    RELEASED = "RELEASED", "pre-auth released, nothing owed"
    EXPIRED = "EXPIRED", "pre-auth expired"


TERMINAL_STATES = frozenset(
    {
        TripState.DENIED,
        TripState.SETTLED,
        TripState.RELEASED,
        TripState.SHORTFALL,
        TripState.EXPIRED,
    }
)


class FraudAbuseMode(models.TextChoices):
    AMAZON_RECOMMENDATION = "AMAZON_RECOMMENDATION", "Amazon recommendation (we decide)"
    RETAILER_MANAGED = "RETAILER_MANAGED", "retailer managed"
    AMAZON_MANAGED = "AMAZON_MANAGED", "Amazon managed (no connector call)"


class BalanceStrategy(models.TextChoices):
    AMAZON = "AMAZON", "Amazon-managed (follow Amazon's BadDebt risk)"
    OWN_BOOKS = "OWN_BOOKS", "our own books"
    NONE = "NONE", "none"


class GateFallback(models.TextChoices):
    FOLLOW_AMAZON = "FOLLOW_AMAZON", "follow Amazon's recommendation"
    ALLOW = "ALLOW", "allow"
    DENY = "DENY", "deny"


class DeclineStrategy(models.TextChoices):
    SEARCH_LOWER = "SEARCH_LOWER", "search for the largest amount the card approves"
    WRITE_OFF_ALL = "WRITE_OFF_ALL", "record the whole cart as bad debt"


class BadCartPolicy(models.TextChoices):
    CHARGE_KNOWN_ITEMS = "CHARGE_KNOWN_ITEMS", "charge the identified items"
    CANCEL = "CANCEL", "cancel the pre-auth"


class AuthEventType(models.TextChoices):
    CREDIT_CARD = "CREDIT_CARD"
    AMAZON_ONE = "AMAZON_ONE"
    QR = "QR"
    MOBILE_WALLET = "MOBILE_WALLET"
    UNRECOGNIZED = "UNRECOGNIZED"
