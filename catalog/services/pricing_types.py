"""Inputs and outputs of the pure pricing engine (``catalog.services.pricing``).

Plain frozen dataclasses: the engine never touches the database. ``catalog.selectors`` builds
the inputs from a price version; ``ordering`` stores the outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

# Why a cart line could not be priced (the line waits in the bad-cart queue).
UNKNOWN_ITEM = "UNKNOWN_ITEM"  # no product has this SKU or scan code
INACTIVE = "INACTIVE"  # the product exists but is not sold
NO_PRICE = "NO_PRICE"  # the price version has no price for the product
UNIT_MISMATCH = "UNIT_MISMATCH"  # a weight for a unit-priced product, or the reverse
AMOUNT_OUT_OF_RANGE = "AMOUNT_OUT_OF_RANGE"  # the line amount has 10 or more integer digits
LINE_PROBLEMS = (UNKNOWN_ITEM, INACTIVE, NO_PRICE, UNIT_MISMATCH, AMOUNT_OUT_OF_RANGE)

# Cart-level problem: the total would not fit the contract's 9 integer digits (§0.5).
TOTAL_OUT_OF_RANGE = "TOTAL_OUT_OF_RANGE"

# Line outcomes.
PRICED = "PRICED"
MANUAL = "MANUAL"
DROPPED = "DROPPED"

# Cart quantity units (contract §1.1) and how many kilograms one of them weighs (exact).
KG_PER_UNIT: dict[str, Decimal] = {
    "kg": Decimal("1"),
    "g": Decimal("0.001"),
    "lb": Decimal("0.45359237"),
    "oz": Decimal("0.028349523125"),
}
# Sale units of a price and the kilograms they stand for.
KG_PER_SALE_UNIT: dict[str, Decimal] = {"KG": Decimal("1"), "LB": Decimal("0.45359237")}


@dataclass(frozen=True, slots=True)
class ProductRule:
    """What a price version says about one product."""

    sku: str
    sale_unit: str  # UNIT | KG | LB
    unit_price: Decimal
    tax_category: str
    tax_rate: Decimal  # percent
    category: str | None = None
    product_id: int | None = None


@dataclass(frozen=True, slots=True)
class PromotionRule:
    code: str
    kind: str
    name: str = ""
    stacking: str = "EXCLUSIVE"
    priority: int = 0
    target_sku: str | None = None
    target_category: str | None = None
    reward_sku: str | None = None
    reward_category: str | None = None
    percent: Decimal | None = None
    amount: Decimal | None = None
    quantity: int | None = None
    pay_quantity: int | None = None
    get_quantity: int | None = None
    bundle_price: Decimal | None = None
    threshold: Decimal | None = None
    members_only: bool = False
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    max_applications_per_cart: int | None = None
    max_uses_per_shopper: int | None = None
    promotion_id: int | None = None


@dataclass(frozen=True, slots=True)
class PricingRules:
    """The store-wide part of a price version."""

    currency: str
    prices_include_tax: bool = False
    tax_rounding: str = "PER_LINE"
    promotions: tuple[PromotionRule, ...] = ()
    version_id: int | None = None


@dataclass(frozen=True, slots=True)
class ManualPrice:
    """A line priced by hand in the bad-cart queue: the line's amount and its tax class."""

    amount: Decimal
    tax_category: str
    tax_rate: Decimal


@dataclass(frozen=True, slots=True)
class CartLine:
    key: str  # unique in the cart: the lineItemId, or "#<position>"
    item_id: str
    quantity: Decimal
    unit: str  # unit | kg | g | lb | oz
    product: ProductRule | None = None
    problem: str | None = None  # UNKNOWN_ITEM, INACTIVE or NO_PRICE when product is None
    manual: ManualPrice | None = None
    dropped: bool = False


@dataclass(frozen=True, slots=True)
class PricingContext:
    at: datetime  # the trip's endTime: promotion windows are checked against it
    members: bool = False  # the trip carries a LOYALTY scan
    shopper_known: bool = False
    shopper_uses: Mapping[str, int] = field(default_factory=dict)  # code -> earlier purchases


@dataclass(frozen=True, slots=True)
class DiscountResult:
    promotion_code: str
    promotion_id: int | None
    name: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class LineResult:
    key: str
    status: str  # PRICED | MANUAL | DROPPED | one of LINE_PROBLEMS
    unit_price: Decimal | None = None
    sale_unit: str = ""
    gross: Decimal | None = None
    discounts: tuple[DiscountResult, ...] = ()
    discount_total: Decimal | None = None
    net: Decimal | None = None
    tax_category: str = ""
    tax_rate: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None

    @property
    def charged(self) -> bool:
        return self.status in (PRICED, MANUAL)


@dataclass(frozen=True, slots=True)
class PricingResult:
    currency: str
    lines: tuple[LineResult, ...]  # in the cart's order
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal
    problems: tuple[str, ...] = ()  # cart-level problems
    promotions_used: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        """Every line priced, priced by hand or dropped, and the total chargeable."""
        return not self.problems and all(
            line.status in (PRICED, MANUAL, DROPPED) for line in self.lines
        )

    @property
    def unresolved_keys(self) -> tuple[str, ...]:
        return tuple(line.key for line in self.lines if line.status in LINE_PROBLEMS)
