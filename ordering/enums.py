from django.db import models

from catalog.services.pricing_types import (
    AMOUNT_OUT_OF_RANGE,
    DROPPED,
    INACTIVE,
    MANUAL,
    NO_PRICE,
    PRICED,
    UNIT_MISMATCH,
    UNKNOWN_ITEM,
)


class PurchaseStatus(models.TextChoices):
    PRICED = "PRICED", "priced"
    IN_REVIEW = "IN_REVIEW", "in the bad-cart queue"
    CANCELLED = "CANCELLED", "not charged (bad-cart policy CANCEL)"
    HELD = "HELD", "held: the trip could not take a cart (operator)"


class LineStatus(models.TextChoices):
    PRICED = PRICED, "priced"
    MANUAL = MANUAL, "priced by hand"
    DROPPED = DROPPED, "dropped"
    UNKNOWN_ITEM = UNKNOWN_ITEM, "unknown SKU or scan code"
    INACTIVE = INACTIVE, "product not sold"
    NO_PRICE = NO_PRICE, "no price in the version"
    UNIT_MISMATCH = UNIT_MISMATCH, "quantity unit does not fit the product"
    AMOUNT_OUT_OF_RANGE = AMOUNT_OUT_OF_RANGE, "amount too large"


PROBLEM_LINE_STATUSES = frozenset(
    {UNKNOWN_ITEM, INACTIVE, NO_PRICE, UNIT_MISMATCH, AMOUNT_OUT_OF_RANGE}
)


class LineResolution(models.TextChoices):
    NONE = "", "none"
    MAPPED = "MAPPED", "mapped to a product"
    MANUAL = "MANUAL", "priced by hand"
    DROPPED = "DROPPED", "dropped by staff"
    AUTO_DROPPED = "AUTO_DROPPED", "dropped by the bad-cart policy"


class BadCartStatus(models.TextChoices):
    OPEN = "OPEN", "open"
    RESOLVED = "RESOLVED", "resolved by staff"
    SETTLED_BY_POLICY = "SETTLED_BY_POLICY", "settled by the store's policy"
