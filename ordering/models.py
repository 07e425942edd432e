"""Carts received from Amazon, the purchases priced from them, and the bad-cart queue.

- ``CartSubmission``: the idempotency record of Create Purchases, one per (store,
  idempotentShoppingTripId), holding the cart hash and the exact bytes of the 201 body.
- ``Purchase`` and ``PurchaseLine``: the priced cart (per line: quantity, unit price, discounts
  with the promotion that gave them, tax, line total; trip totals).
- ``BadCartCase``: a cart with lines we could not price, waiting for staff or the store policy.
"""

from django.db import models
from django.db.models import Q

from catalog.enums import SaleUnit, TaxRounding
from catalog.models import PriceVersion, Product, Promotion
from core.money import AmountField, CurrencyField
from trips.models import Shopper, ShoppingTrip, Store

from .enums import BadCartStatus, LineResolution, LineStatus, PurchaseStatus


class CartSubmission(models.Model):
    """The first accepted delivery of a cart. Replays are answered from ``response_body``."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    shopping_trip_id = models.CharField("idempotentShoppingTripId", max_length=255)
    trip = models.OneToOneField(
        ShoppingTrip,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cart_submission",
    )
    cart_hash = models.CharField(max_length=64, help_text="contract §1.4")
    request_id = models.CharField(max_length=64, help_text="requestId of the first delivery")
    received_at = models.DateTimeField()
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    shopper_identity_id = models.CharField(max_length=255, blank=True)
    shopper_device_id = models.CharField(max_length=255, blank=True)
    payment_source_id = models.CharField(max_length=255, blank=True)
    auth_events = models.JSONField(default=list, help_text="as received")
    response_status = models.PositiveSmallIntegerField(default=0)
    response_body = models.BinaryField(default=b"")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "shopping_trip_id"], name="cart_submission_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}/{self.shopping_trip_id}"


class Purchase(models.Model):
    """A non-empty cart as we priced it (or hold it for review). ``purchase_id`` goes to Amazon."""

    purchase_id = models.CharField(max_length=255, unique=True)
    submission = models.OneToOneField(
        CartSubmission, on_delete=models.PROTECT, related_name="purchase"
    )
    trip = models.OneToOneField(ShoppingTrip, on_delete=models.PROTECT, related_name="purchase")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=PurchaseStatus.choices)
    price_version = models.ForeignKey(
        PriceVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    currency = CurrencyField()
    prices_include_tax = models.BooleanField(default=False)
    tax_rounding = models.CharField(
        max_length=12, choices=TaxRounding.choices, default=TaxRounding.PER_LINE
    )
    line_count = models.PositiveIntegerField()
    subtotal = AmountField(null=True, blank=True)
    discount_total = AmountField(null=True, blank=True)
    tax_total = AmountField(null=True, blank=True)
    total = AmountField(null=True, blank=True, help_text="what the shopper is charged")
    created_at = models.DateTimeField()
    priced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=PurchaseStatus.values), name="purchase_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(total__isnull=True)
                | (Q(total__gte=0) & Q(subtotal__gte=0) & Q(discount_total__gte=0)),
                name="purchase_amounts_gte_0",
            ),
            models.CheckConstraint(
                condition=~Q(status="PRICED") | Q(total__isnull=False),
                name="purchase_priced_has_total",
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="purchase_status_idx")]

    def __str__(self) -> str:
        return self.purchase_id


class PurchaseLine(models.Model):
    """One cart line as received, how it was identified, and what it costs."""

    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField(help_text="index in cartItems")
    line_key = models.CharField(max_length=260, help_text="lineItemId, or #<position>")
    line_item_id = models.CharField(max_length=255, blank=True)
    item_id = models.CharField(max_length=255)
    item_type = models.CharField(max_length=10)
    quantity_value = models.CharField(max_length=10, help_text="as received")
    quantity = models.DecimalField(max_digits=20, decimal_places=8)
    quantity_unit = models.CharField(max_length=4)
    external_ids = models.JSONField(default=list, blank=True)
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=20, choices=LineStatus.choices)
    # Staff (or policy) decision for a line we could not price.
    resolution = models.CharField(
        max_length=12, choices=LineResolution.choices, default="", blank=True
    )
    mapped_product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    manual_amount = AmountField(null=True, blank=True)
    manual_tax_category = models.CharField(max_length=60, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.CharField(max_length=300, blank=True)
    # Price (empty while the line cannot be priced).
    unit_price = AmountField(null=True, blank=True)
    sale_unit = models.CharField(max_length=4, choices=SaleUnit.choices, blank=True)
    gross = AmountField(null=True, blank=True)
    discount_total = AmountField(null=True, blank=True)
    net = AmountField(null=True, blank=True)
    tax_category = models.CharField(max_length=60, blank=True)
    tax_rate = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    tax = AmountField(null=True, blank=True)
    total = AmountField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["purchase", "position"], name="purchase_line_position"),
            models.UniqueConstraint(fields=["purchase", "line_key"], name="purchase_line_key"),
            models.CheckConstraint(
                condition=Q(total__isnull=True) | (Q(total__gte=0) & Q(net__gte=0)),
                name="purchase_line_gte_0",
            ),
        ]
        ordering = ["purchase", "position"]

    def __str__(self) -> str:
        return f"{self.purchase_id}#{self.position} {self.item_id}"


class LineDiscount(models.Model):
    line = models.ForeignKey(PurchaseLine, on_delete=models.CASCADE, related_name="discounts")
    promotion = models.ForeignKey(
        Promotion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    promotion_code = models.CharField(max_length=60)
    name = models.CharField(max_length=200, blank=True)
    amount = AmountField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="line_discount_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.promotion_code} -{self.amount}"


class PromotionUse(models.Model):
    """A promotion used by a shopper's purchase: counts against ``max_uses_per_shopper``."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    shopper = models.ForeignKey(Shopper, on_delete=models.PROTECT, related_name="+")
    promotion_code = models.CharField(max_length=60)
    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="+")
    used_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["purchase", "promotion_code"], name="promotion_use_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["shopper", "store", "promotion_code"], name="promotion_use_shopper_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.promotion_code} by {self.shopper_id} in {self.purchase_id}"


class BadCartCase(models.Model):
    """A cart waiting in the bad-cart queue; settled by staff or, at ``settle_by``, by policy."""

    purchase = models.OneToOneField(Purchase, on_delete=models.PROTECT, related_name="bad_cart")
    trip = models.OneToOneField(ShoppingTrip, on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=18, choices=BadCartStatus.choices, default=BadCartStatus.OPEN
    )
    problem_lines = models.PositiveIntegerField()
    opened_at = models.DateTimeField()
    settle_by = models.DateTimeField(help_text="settled by store policy at this time")
    unpriced_alert_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=BadCartStatus.values), name="bad_cart_status_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["settle_by"], name="bad_cart_open_idx", condition=Q(status="OPEN"))
        ]
        verbose_name = "bad-cart case"

    def __str__(self) -> str:
        return f"bad cart {self.purchase_id} ({self.status.lower()})"
