"""Turn cart items into engine input: identify each item's product and its rule in a version.

Identification: a ``SKU`` item by its SKU, a ``SCANCODE`` item by its scan code; either falls back
to the item's UPC external identifiers. Staff decisions from the bad-cart queue (map to a product,
price by hand, drop) override identification. Three queries at most (four with staff
mappings), whatever the cart's size, and no model instances.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ..selectors import ProductRef, VersionRules, product_matches, products_identify
from .pricing_types import NO_PRICE, UNKNOWN_ITEM, CartLine, ManualPrice


@dataclass(frozen=True, slots=True)
class CartItem:
    key: str
    item_id: str
    item_type: str  # SKU | SCANCODE
    quantity: Decimal
    unit: str
    external_ids: tuple[str, ...] = ()
    # Staff decisions from the bad-cart queue:
    mapped_product_id: int | None = None
    manual_amount: Decimal | None = None
    manual_tax_category: str = ""
    dropped: bool = False


@dataclass(frozen=True, slots=True)
class BuiltCart:
    lines: list[CartLine]
    products: dict[str, ProductRef | None]  # line key -> identified product


def cart_lines_build(*, rules: VersionRules | None, items: Sequence[CartItem]) -> BuiltCart:
    skus = {item.item_id for item in items if item.item_type == "SKU"}
    codes = {item.item_id for item in items if item.item_type == "SCANCODE"}
    codes.update(code for item in items for code in item.external_ids)
    mapped_ids = {item.mapped_product_id for item in items if item.mapped_product_id}
    by_sku, by_code, mapped = products_identify(skus=skus, scan_codes=codes, pks=mapped_ids)
    identified: dict[str, ProductRef | None] = {}
    for item in items:
        identified[item.key] = _identify(item, by_sku, by_code, mapped)
    matches = {}
    if rules is not None:
        found = {product.pk: product for product in identified.values() if product is not None}
        matches = product_matches(version_rules_=rules, products=found.values()) if found else {}
    lines = []
    for item in items:
        product = identified[item.key]
        base = {
            "key": item.key,
            "item_id": item.item_id,
            "quantity": item.quantity,
            "unit": item.unit,
        }
        if item.dropped:
            lines.append(CartLine(**base, dropped=True))
        elif item.manual_amount is not None:
            rate = rules.tax_rates.get(item.manual_tax_category) if rules else None
            if rate is None:
                lines.append(CartLine(**base, problem=NO_PRICE))
            else:
                manual = ManualPrice(item.manual_amount, item.manual_tax_category, rate)
                lines.append(CartLine(**base, manual=manual))
        elif product is None:
            lines.append(CartLine(**base, problem=UNKNOWN_ITEM))
        elif rules is None:
            lines.append(CartLine(**base, problem=NO_PRICE))
        else:
            match = matches[product.pk]
            lines.append(CartLine(**base, product=match.rule, problem=match.problem))
    return BuiltCart(lines=lines, products=identified)


def _identify(item: CartItem, by_sku, by_code, mapped) -> ProductRef | None:
    if item.mapped_product_id:
        return mapped.get(item.mapped_product_id)
    source = by_sku if item.item_type == "SKU" else by_code
    product = source.get(item.item_id)
    if product is None:
        for code in item.external_ids:
            product = by_code.get(code)
            if product is not None:
                break
    return product
