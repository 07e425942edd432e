from django.db import models


class SaleUnit(models.TextChoices):
    """How a product is priced in a price version: per piece, or by weight per kg or per lb."""

    UNIT = "UNIT", "per unit"
    KG = "KG", "per kg"
    LB = "LB", "per lb"


WEIGHT_SALE_UNITS = frozenset({SaleUnit.KG, SaleUnit.LB})


class ScanCodeKind(models.TextChoices):
    UPC_A = "UPC_A", "UPC-A (12 digits)"
    EAN_13 = "EAN_13", "EAN-13 (13 digits)"
    EAN_8 = "EAN_8", "EAN-8 (8 digits)"
    OTHER = "OTHER", "other (no check digit)"


class VersionStatus(models.TextChoices):
    DRAFT = "DRAFT", "draft"
    PUBLISHED = "PUBLISHED", "published"
    DISCARDED = "DISCARDED", "discarded"


class TaxRounding(models.TextChoices):
    """Where tax is rounded to the currency's minor unit (always half-up)."""

    PER_LINE = "PER_LINE", "per line"
    PER_INVOICE = "PER_INVOICE", "per invoice (per tax rate, shared out over the lines)"


class PromotionKind(models.TextChoices):
    PERCENT_OFF = "PERCENT_OFF", "percent off"
    AMOUNT_OFF = "AMOUNT_OFF", "amount off each unit"
    BUY_N_PAY_M = "BUY_N_PAY_M", "multi-buy: N for the price of M (3 for 2)"
    BUNDLE_PRICE = "BUNDLE_PRICE", "multi-buy: N for a fixed price (2 for $5)"
    BUY_X_GET_Y = "BUY_X_GET_Y", "buy X, get Y at a percent off (100 = free)"
    SPEND_THRESHOLD = "SPEND_THRESHOLD", "basket: spend at least T, get an amount or percent off"


BASKET_KINDS = frozenset({PromotionKind.SPEND_THRESHOLD})


class Stacking(models.TextChoices):
    STACKABLE = "STACKABLE", "stackable (combines with other stackable promotions)"
    EXCLUSIVE = "EXCLUSIVE", "exclusive (the units it uses get no other promotion)"
