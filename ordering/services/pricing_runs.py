"""Price a cart against the version in force at its end time, and store the priced lines.

Shared by Create Purchases (first pricing) and the bad-cart queue (re-pricing after staff
decisions). A fixed number of queries whatever the cart's size: the version, its cached rules,
products by SKU and scan code, their prices, the shopper's promotion uses, then bulk writes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from catalog.models import PriceVersion
from catalog.selectors import ProductRef, price_version_in_force, version_rules
from catalog.services.cart_lines import CartItem, cart_lines_build
from catalog.services.pricing import price_cart
from catalog.services.pricing_types import PricingContext, PricingResult, PricingRules
from core import clock
from trips.models import Shopper, Store

from ..models import LineDiscount, PromotionUse, Purchase, PurchaseLine
from ..selectors import promotion_use_counts
from .line_writer import discounts_insert, lines_insert

_IN_FORCE = object()


@dataclass(frozen=True, slots=True)
class PricingRun:
    version: PriceVersion | None
    result: PricingResult
    products: dict[str, ProductRef | None]


def _lock_shopper_promotions(shopper: Shopper) -> None:
    """Serialise per-shopper promotion counting (two carts of one shopper at once)."""
    if connection.vendor != "postgresql":
        return
    digest = hashlib.sha256(f"promotion-uses:{shopper.pk}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def cart_price(
    *,
    store: Store,
    end_time: datetime,
    items: list[CartItem],
    members: bool,
    shopper: Shopper | None,
    version=_IN_FORCE,
) -> PricingRun:
    if version is _IN_FORCE:
        version = price_version_in_force(store=store, at=end_time)
    loaded = version_rules(version) if version is not None else None
    built = cart_lines_build(rules=loaded, items=items)
    rules = loaded.rules if loaded is not None else PricingRules(currency=store.currency)
    uses: dict[str, int] = {}
    capped = [rule.code for rule in rules.promotions if rule.max_uses_per_shopper is not None]
    if shopper is not None and capped:
        _lock_shopper_promotions(shopper)
        uses = promotion_use_counts(shopper=shopper, store=store, codes=capped)
    context = PricingContext(
        at=end_time, members=members, shopper_known=shopper is not None, shopper_uses=uses
    )
    result = price_cart(rules, built.lines, context)
    return PricingRun(version=version, result=result, products=built.products)


def _price_fields(line_result) -> dict:
    return {
        "status": line_result.status,
        "unit_price": line_result.unit_price,
        "sale_unit": line_result.sale_unit,
        "gross": line_result.gross,
        "discount_total": line_result.discount_total,
        "net": line_result.net,
        "tax_category": line_result.tax_category,
        "tax_rate": line_result.tax_rate,
        "tax": line_result.tax,
        "total": line_result.total,
    }


PRICE_FIELDS = [
    "status",
    "unit_price",
    "sale_unit",
    "gross",
    "discount_total",
    "net",
    "tax_category",
    "tax_rate",
    "tax",
    "total",
    "product",
]


def _product_id(run: PricingRun, key: str) -> int | None:
    product = run.products.get(key)
    return product.pk if product is not None else None


def purchase_lines_create(*, purchase: Purchase, items, run: PricingRun) -> None:
    """Insert the lines of a new purchase and their discounts (COPY on PostgreSQL)."""
    results = {line.key: line for line in run.result.lines}
    entries = [
        {
            "position": item.position,
            "line_key": item.key,
            "line_item_id": item.line_item_id,
            "item_id": item.item_id,
            "item_type": item.item_type,
            "quantity_value": item.quantity_value,
            "quantity": item.quantity,
            "quantity_unit": item.unit,
            "external_ids": [
                {"id": identifier, "type": kind} for kind, identifier in item.external_ids
            ],
            "product_id": _product_id(run, item.key),
            **_price_fields(results[item.key]),
        }
        for item in items
    ]
    line_ids = lines_insert(purchase_pk=purchase.pk, entries=entries)
    discounts_insert(
        [
            (line_ids[result.key], d.promotion_id, d.promotion_code, d.name[:200], d.amount)
            for result in run.result.lines
            for d in result.discounts
        ]
    )


def purchase_lines_reprice(*, lines: list[PurchaseLine], run: PricingRun) -> None:
    """Write a new pricing over existing lines (bad-cart resolution)."""
    results = {line.key: line for line in run.result.lines}
    for line in lines:
        for name, value in _price_fields(results[line.line_key]).items():
            setattr(line, name, value)
        line.product_id = _product_id(run, line.line_key)
    PurchaseLine.objects.bulk_update(lines, PRICE_FIELDS)
    LineDiscount.objects.filter(line__in=lines).delete()
    by_key = {line.line_key: line.pk for line in lines}
    discounts_insert(
        [
            (by_key[result.key], d.promotion_id, d.promotion_code, d.name[:200], d.amount)
            for result in run.result.lines
            for d in result.discounts
        ]
    )


def promotion_uses_record(*, purchase: Purchase, shopper: Shopper | None, run: PricingRun) -> None:
    if shopper is None or not run.result.promotions_used:
        return
    at = clock.now()
    PromotionUse.objects.bulk_create(
        [
            PromotionUse(
                store_id=purchase.store_id,
                shopper=shopper,
                promotion_code=code,
                purchase=purchase,
                used_at=at,
            )
            for code in run.result.promotions_used
        ],
        ignore_conflicts=True,
    )


def stored_cart_items(lines: list[PurchaseLine]) -> list[CartItem]:
    """Cart items rebuilt from stored lines, with the staff decisions applied."""
    from ..enums import LineResolution

    items = []
    for line in lines:
        resolution = line.resolution
        items.append(
            CartItem(
                key=line.line_key,
                item_id=line.item_id,
                item_type=line.item_type,
                quantity=line.quantity,
                unit=line.quantity_unit,
                external_ids=tuple(entry["id"] for entry in line.external_ids),
                mapped_product_id=line.mapped_product_id
                if resolution == LineResolution.MAPPED
                else None,
                manual_amount=line.manual_amount if resolution == LineResolution.MANUAL else None,
                manual_tax_category=line.manual_tax_category,
                dropped=resolution in (LineResolution.DROPPED, LineResolution.AUTO_DROPPED),
            )
        )
    return items
