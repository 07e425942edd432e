"""Preview: price a sample cart under any version (a draft before it goes live) beside the live
version, without writing anything."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from core import clock
from core.errors import ApplicationError

from ..models import PriceVersion
from ..selectors import price_version_live, version_rules
from .cart_lines import CartItem, cart_lines_build
from .pricing import price_cart
from .pricing_types import PricingContext, PricingResult

UNITS = ("unit", "kg", "g", "lb", "oz")


@dataclass(frozen=True)
class Preview:
    version: PriceVersion
    result: PricingResult
    live: PriceVersion | None
    live_result: PricingResult | None
    items: list[CartItem]


def sample_cart_parse(text: str) -> list[CartItem]:
    """One item a line: ``<SKU or scan code> [quantity] [unit]``, e.g. ``SKU-BANANA 0.742 kg``."""
    items = []
    for number, raw in enumerate(text.splitlines(), start=1):
        parts = raw.split()
        if not parts:
            continue
        if len(parts) > 3:
            raise ApplicationError(f"line {number}: write <SKU or code> [quantity] [unit]")
        try:
            quantity = Decimal(parts[1]) if len(parts) > 1 else Decimal(1)
        except InvalidOperation:
            raise ApplicationError(f"line {number}: {parts[1]!r} is not a quantity") from None
        unit = parts[2] if len(parts) > 2 else "unit"
        if unit not in UNITS or quantity <= 0:
            raise ApplicationError(f"line {number}: the unit is one of {', '.join(UNITS)}")
        items.append(
            CartItem(
                key=f"#{len(items)}",
                item_id=parts[0],
                item_type="SKU",
                quantity=quantity,
                unit=unit,
                external_ids=(parts[0],),  # a scan code works too
            )
        )
    if not items:
        raise ApplicationError("the sample cart is empty")
    return items


def _price(version: PriceVersion, items, at: datetime, members: bool) -> PricingResult:
    loaded = version_rules(version)
    built = cart_lines_build(rules=loaded, items=items)
    context = PricingContext(at=at, members=members, shopper_known=True)
    return price_cart(loaded.rules, built.lines, context)


def price_version_preview(
    *, version: PriceVersion, items: list[CartItem], members: bool = False, at=None
) -> Preview:
    at = at or max(clock.now(), version.effective_from or clock.now())
    live = price_version_live(store=version.store)
    live_result = _price(live, items, clock.now(), members) if live else None
    return Preview(version, _price(version, items, at, members), live, live_result, items)
