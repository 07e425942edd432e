"""Products, scan codes and versioned pricing rules (prices, tax rates, promotions). No workflows.

A ``PriceVersion`` is a complete, immutable snapshot of one store's pricing once it is published:
its ``ProductPrice``, ``TaxRate`` and ``Promotion`` rows. A change is a new draft (a copy of the
live version), edited, previewed and published; a trip is priced with the version in force at its
``endTime``. On PostgreSQL a trigger (migration 0002) refuses any change to a published version.
"""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from core.money import AmountField, CurrencyField
from trips.models import Store

from .enums import PromotionKind, SaleUnit, ScanCodeKind, Stacking, TaxRounding, VersionStatus

code_validator = RegexValidator(r"^[A-Za-z0-9_-]+$", "letters, digits, '_' and '-' only")
PERCENT_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]


def PercentField(**kwargs) -> models.DecimalField:
    kwargs.setdefault("max_digits", 7)
    kwargs.setdefault("decimal_places", 4)
    kwargs.setdefault("validators", PERCENT_VALIDATORS)
    return models.DecimalField(**kwargs)


class Category(models.Model):
    """A merchandising category (what promotions target), e.g. DAIRY, SNACKS."""

    code = models.CharField(max_length=60, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"


class TaxCategory(models.Model):
    """A tax class (STANDARD, FOOD, EXEMPT...). Its rate is set per store in each price version."""

    code = models.CharField(max_length=60, unique=True, validators=[code_validator])
    name = models.CharField(max_length=200)

    class Meta:
        verbose_name_plural = "tax categories"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Product(models.Model):
    """A product as Amazon's cart names it: by SKU, or by one of its scan codes."""

    sku = models.CharField("SKU", max_length=255, unique=True)
    name = models.CharField(max_length=300)
    active = models.BooleanField(
        default=True, help_text="inactive products are not sold: a cart line for one is reviewed"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} – {self.name}"


class ScanCode(models.Model):
    """A barcode (UPC/EAN) that identifies a product; a product may have several."""

    code = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=8, choices=ScanCodeKind.choices, default=ScanCodeKind.OTHER)
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="scan_codes")

    def __str__(self) -> str:
        return self.code

    def clean(self):
        from .scan_codes import scan_code_problem

        problem = scan_code_problem(self.code, self.kind)
        if problem:
            from django.core.exceptions import ValidationError

            raise ValidationError({"code": problem})


class PriceVersion(models.Model):
    """One store's complete pricing rules; immutable once published."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="price_versions")
    number = models.PositiveIntegerField()
    status = models.CharField(
        max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    currency = CurrencyField()
    prices_include_tax = models.BooleanField(
        default=False, help_text="shelf prices include tax (VAT style) or tax is added on top"
    )
    tax_rounding = models.CharField(
        max_length=12, choices=TaxRounding.choices, default=TaxRounding.PER_LINE
    )
    based_on = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.CharField(max_length=500)
    author = models.CharField(max_length=200, help_text="user:<id>:<name> or system:<part>")
    created_at = models.DateTimeField()
    published_by = models.CharField(max_length=200, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    effective_from = models.DateTimeField(
        null=True, blank=True, help_text="trips that end at or after this time use this version"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "number"], name="price_version_number"),
            models.CheckConstraint(
                condition=Q(status__in=VersionStatus.values), name="price_version_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=VersionStatus.PUBLISHED)
                | (Q(effective_from__isnull=False) & Q(published_at__isnull=False)),
                name="price_version_published_dated",
            ),
        ]
        indexes = [
            models.Index(
                fields=["store", "effective_from"],
                name="price_version_live_idx",
                condition=Q(status="PUBLISHED"),
            )
        ]
        ordering = ["store", "-number"]

    def __str__(self) -> str:
        return f"{self.store.store_id} v{self.number} ({self.status.lower()})"

    @property
    def is_draft(self) -> bool:
        return self.status == VersionStatus.DRAFT


class ProductPrice(models.Model):
    """A product's price, sale unit, tax class and category in one price version."""

    version = models.ForeignKey(PriceVersion, on_delete=models.CASCADE, related_name="prices")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="prices")
    sale_unit = models.CharField(max_length=4, choices=SaleUnit.choices, default=SaleUnit.UNIT)
    unit_price = AmountField(help_text="per unit, or per kg / per lb for weight items")
    currency = CurrencyField()
    tax_category = models.ForeignKey(TaxCategory, on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "product"], name="product_price_once"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="product_price_gte_0"),
            models.CheckConstraint(
                condition=Q(sale_unit__in=SaleUnit.values), name="product_price_unit_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.unit_price} {self.currency}/{self.sale_unit}"


class TaxRate(models.Model):
    """The rate of one tax category in one price version (the version belongs to one store)."""

    version = models.ForeignKey(PriceVersion, on_delete=models.CASCADE, related_name="tax_rates")
    tax_category = models.ForeignKey(TaxCategory, on_delete=models.PROTECT, related_name="+")
    rate_percent = PercentField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "tax_category"], name="tax_rate_once"),
            models.CheckConstraint(
                condition=Q(rate_percent__gte=0) & Q(rate_percent__lte=100),
                name="tax_rate_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tax_category_id}: {self.rate_percent}%"


class Promotion(models.Model):
    """One promotion of a price version. ``code`` is stable across versions (usage caps use it).

    Targets: a product, a category, or (both empty) every product. Which fields a kind uses is
    checked by ``catalog.services.versions.promotion_problems`` and documented in docs/pricing.md.
    """

    version = models.ForeignKey(PriceVersion, on_delete=models.CASCADE, related_name="promotions")
    code = models.CharField(max_length=60, validators=[code_validator])
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=PromotionKind.choices)
    stacking = models.CharField(max_length=10, choices=Stacking.choices, default=Stacking.EXCLUSIVE)
    priority = models.IntegerField(default=0, help_text="higher goes first")
    target_product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    target_category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reward_product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="BUY_X_GET_Y: the rewarded product (both reward fields empty: the target)",
    )
    reward_category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    percent = PercentField(null=True, blank=True)
    amount = AmountField(null=True, blank=True, validators=[MinValueValidator(Decimal("0"))])
    quantity = models.PositiveIntegerField(
        null=True, blank=True, help_text="N of a multi-buy, X of buy X get Y"
    )
    pay_quantity = models.PositiveIntegerField(null=True, blank=True, help_text="M of N for M")
    get_quantity = models.PositiveIntegerField(null=True, blank=True, help_text="Y of buy X get Y")
    bundle_price = AmountField(null=True, blank=True, validators=[MinValueValidator(Decimal("0"))])
    threshold = AmountField(null=True, blank=True, validators=[MinValueValidator(Decimal("0"))])
    members_only = models.BooleanField(
        default=False, help_text="loyalty price: only for trips with a LOYALTY scan"
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    max_applications_per_cart = models.PositiveIntegerField(
        null=True, blank=True, help_text="units, groups or sets per cart (empty: no limit)"
    )
    max_uses_per_shopper = models.PositiveIntegerField(
        null=True, blank=True, help_text="purchases per shopper identity (empty: no limit)"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["version", "code"], name="promotion_code_once"),
            models.CheckConstraint(
                condition=Q(kind__in=PromotionKind.values), name="promotion_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(stacking__in=Stacking.values), name="promotion_stacking_valid"
            ),
            models.CheckConstraint(
                condition=Q(target_product__isnull=True) | Q(target_category__isnull=True),
                name="promotion_one_target",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True)
                | Q(ends_at__isnull=True)
                | Q(ends_at__gt=models.F("starts_at")),
                name="promotion_window_ordered",
            ),
        ]
        ordering = ["-priority", "code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.get_kind_display()})"
