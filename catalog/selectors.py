"""Reads for the catalog: the price version in force, its rules, and a cart's products.

A published version never changes (a database trigger refuses it), so its store-wide rules
(promotions, tax rates, settings) are cached in the process by version id. Products and their
prices are read per cart with a fixed number of queries, whatever the cart's size.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from core.sql import row_get
from trips.models import Store

from .enums import VersionStatus
from .models import (
    Category,
    PriceVersion,
    Product,
    ProductPrice,
    Promotion,
    ScanCode,
    TaxCategory,
    TaxRate,
)
from .services.pricing_types import INACTIVE, NO_PRICE, PricingRules, ProductRule, PromotionRule

_CACHE_SIZE = 64
_cache: OrderedDict[tuple, VersionRules] = OrderedDict()
_cache_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class VersionRules:
    version: PriceVersion
    rules: PricingRules
    tax_rates: dict[str, Decimal]  # tax category code -> percent


@dataclass(frozen=True, slots=True)
class ProductRef:
    """A product as identification needs it (no model instance: carts can be large)."""

    pk: int
    sku: str
    active: bool


@dataclass(frozen=True, slots=True)
class ProductMatch:
    """A cart item identified as a product, with its rule in the version or why it has none."""

    product: ProductRef
    rule: ProductRule | None
    problem: str | None


def price_version_in_force(*, store: Store, at: datetime) -> PriceVersion | None:
    """The published version with the latest ``effective_from`` not after ``at``."""
    return row_get(
        PriceVersion,
        where="store_id = %s AND status = %s AND effective_from <= %s "
        "ORDER BY effective_from DESC, number DESC",
        params=[store.pk, VersionStatus.PUBLISHED.value, at],
    )


def price_version_live(*, store: Store) -> PriceVersion | None:
    from core.clock import now

    return price_version_in_force(store=store, at=now())


def _promotion_rule(promotion: Promotion) -> PromotionRule:
    return PromotionRule(
        code=promotion.code,
        kind=promotion.kind,
        name=promotion.name,
        stacking=promotion.stacking,
        priority=promotion.priority,
        target_sku=promotion.target_product.sku if promotion.target_product else None,
        target_category=promotion.target_category.code if promotion.target_category else None,
        reward_sku=promotion.reward_product.sku if promotion.reward_product else None,
        reward_category=promotion.reward_category.code if promotion.reward_category else None,
        percent=promotion.percent,
        amount=promotion.amount,
        quantity=promotion.quantity,
        pay_quantity=promotion.pay_quantity,
        get_quantity=promotion.get_quantity,
        bundle_price=promotion.bundle_price,
        threshold=promotion.threshold,
        members_only=promotion.members_only,
        starts_at=promotion.starts_at,
        ends_at=promotion.ends_at,
        max_applications_per_cart=promotion.max_applications_per_cart,
        max_uses_per_shopper=promotion.max_uses_per_shopper,
        promotion_id=promotion.pk,
    )


def _load_version_rules(version: PriceVersion) -> VersionRules:
    promotions = Promotion.objects.filter(version=version).select_related(
        "target_product", "target_category", "reward_product", "reward_category"
    )
    rates = {
        rate.tax_category.code: rate.rate_percent
        for rate in TaxRate.objects.filter(version=version).select_related("tax_category")
    }
    rules = PricingRules(
        currency=version.currency,
        prices_include_tax=version.prices_include_tax,
        tax_rounding=version.tax_rounding,
        promotions=tuple(_promotion_rule(promotion) for promotion in promotions),
        version_id=version.pk,
    )
    return VersionRules(version=version, rules=rules, tax_rates=rates)


def version_rules(version: PriceVersion) -> VersionRules:
    """The store-wide rules of a version; cached when the version is published (immutable)."""
    if version.status != VersionStatus.PUBLISHED:
        return _load_version_rules(version)
    key = (version.pk, version.published_at)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    loaded = _load_version_rules(version)
    with _cache_lock:
        _cache[key] = loaded
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return loaded


def products_identify(
    *, skus: Iterable[str], scan_codes: Iterable[str], pks: Iterable[int] = ()
) -> tuple[dict[str, ProductRef], dict[str, ProductRef], dict[int, ProductRef]]:
    """Products by SKU, by scan code and by id: at most three queries, no model instances."""
    skus, scan_codes, pks = set(skus), set(scan_codes), set(pks)
    by_sku, by_code, by_pk = {}, {}, {}
    product = Product._meta.db_table
    if skus:
        sql = f"SELECT id, sku, active FROM {product} WHERE sku = ANY(%s)"  # noqa: S608
        rows = _fetch(sql, [list(skus)])
        by_sku = {sku: ProductRef(pk, sku, active) for pk, sku, active in rows}
    if scan_codes:
        rows = _fetch(
            f"SELECT c.code, p.id, p.sku, p.active FROM {ScanCode._meta.db_table} c "  # noqa: S608
            f"JOIN {product} p ON p.id = c.product_id WHERE c.code = ANY(%s)",
            [list(scan_codes)],
        )
        by_code = {code: ProductRef(pk, sku, active) for code, pk, sku, active in rows}
    if pks:
        sql = f"SELECT id, sku, active FROM {product} WHERE id = ANY(%s)"  # noqa: S608
        rows = _fetch(sql, [list(pks)])
        by_pk = {pk: ProductRef(pk, sku, active) for pk, sku, active in rows}
    return by_sku, by_code, by_pk


def _fetch(sql: str, params: list) -> list[tuple]:
    """A read through a plain cursor (the ORM's compilation costs more than these queries)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def product_matches(
    *, version_rules_: VersionRules, products: Iterable[ProductRef]
) -> dict[int, ProductMatch]:
    """Each product's rule in the version (one query), or why it cannot be priced."""
    products = {product.pk: product for product in products}
    rows = _fetch(
        f"SELECT pp.product_id, pp.sale_unit, pp.unit_price, t.code, c.code "  # noqa: S608
        f"FROM {ProductPrice._meta.db_table} pp "
        f"JOIN {TaxCategory._meta.db_table} t ON t.id = pp.tax_category_id "
        f"LEFT JOIN {Category._meta.db_table} c ON c.id = pp.category_id "
        f"WHERE pp.version_id = %s AND pp.product_id = ANY(%s)",
        [version_rules_.version.pk, list(products)],
    )
    prices = {row[0]: row[1:] for row in rows}
    matches = {}
    for product_id, product in products.items():
        if not product.active:
            matches[product_id] = ProductMatch(product, None, INACTIVE)
            continue
        price = prices.get(product_id)
        rate = version_rules_.tax_rates.get(price[2]) if price else None
        if price is None or rate is None:
            matches[product_id] = ProductMatch(product, None, NO_PRICE)
            continue
        sale_unit, unit_price, tax_code, category_code = price
        matches[product_id] = ProductMatch(
            product,
            ProductRule(
                sku=product.sku,
                sale_unit=sale_unit,
                unit_price=unit_price,
                tax_category=tax_code,
                tax_rate=rate,
                category=category_code,
                product_id=product_id,
            ),
            None,
        )
    return matches


def price_versions_of(*, store: Store):
    return PriceVersion.objects.filter(store=store).order_by("-number")
