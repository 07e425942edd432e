"""Catalog factories: products, categories and published price versions, built through services."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal

from catalog.enums import SaleUnit
from catalog.models import (
    Category,
    PriceVersion,
    Product,
    ProductPrice,
    Promotion,
    ScanCode,
    TaxCategory,
    TaxRate,
)
from catalog.scan_codes import scan_code_kind_for
from catalog.services.versions import price_version_create_draft, price_version_publish

ACTOR = "user:1:pricing-manager"
_numbers = itertools.count(1)


def tax_category(code: str = "STANDARD") -> TaxCategory:
    return TaxCategory.objects.get_or_create(code=code, defaults={"name": code.title()})[0]


def category(code: str) -> Category:
    return Category.objects.get_or_create(code=code, defaults={"name": code.title()})[0]


def product(
    sku: str | None = None, *, scan_codes=(), active: bool = True, name: str = ""
) -> Product:
    sku = sku or f"SKU-{next(_numbers):05d}"
    item, _ = Product.objects.get_or_create(
        sku=sku, defaults={"name": name or f"Product {sku}", "active": active}
    )
    for code in scan_codes:
        ScanCode.objects.get_or_create(
            code=code, defaults={"product": item, "kind": scan_code_kind_for(code)}
        )
    return item


def draft_version(
    store,
    *,
    prices: dict | None = None,
    tax_rates: dict | None = None,
    promotions: list[dict] | None = None,
    prices_include_tax: bool | None = None,
    tax_rounding: str | None = None,
    reason: str = "test prices",
    based_on: PriceVersion | None = None,
) -> PriceVersion:
    """A draft holding the given rules (added to whatever it copied).

    ``prices``: {sku: price} or {sku: (price, sale_unit, tax_category, category)};
    ``tax_rates``: {tax category code: percent}; ``promotions``: Promotion field dicts where
    ``target_product``/``reward_product`` may be SKUs and ``target_category``/``reward_category``
    category codes.
    """
    version = price_version_create_draft(store=store, actor=ACTOR, reason=reason, based_on=based_on)
    changed = []
    if prices_include_tax is not None:
        version.prices_include_tax = prices_include_tax
        changed.append("prices_include_tax")
    if tax_rounding is not None:
        version.tax_rounding = tax_rounding
        changed.append("tax_rounding")
    if changed:
        version.save(update_fields=changed)
    rates = {"STANDARD": Decimal("0")} if tax_rates is None and based_on is None else {}
    rates.update(tax_rates or {})
    for code, rate in rates.items():
        TaxRate.objects.update_or_create(
            version=version,
            tax_category=tax_category(code),
            defaults={"rate_percent": Decimal(rate)},
        )
    for sku, spec in (prices or {}).items():
        if not isinstance(spec, tuple):
            spec = (spec,)
        price, sale_unit, tax_code, category_code = (
            *spec,
            *(SaleUnit.UNIT, "STANDARD", None)[len(spec) - 1 :],
        )
        ProductPrice.objects.update_or_create(
            version=version,
            product=product(sku),
            defaults={
                "unit_price": Decimal(price),
                "sale_unit": sale_unit,
                "currency": version.currency,
                "tax_category": tax_category(tax_code),
                "category": category(category_code) if category_code else None,
            },
        )
    for spec in promotions or []:
        fields = dict(spec)
        for name in ("target_product", "reward_product"):
            if isinstance(fields.get(name), str):
                fields[name] = product(fields[name])
        for name in ("target_category", "reward_category"):
            if isinstance(fields.get(name), str):
                fields[name] = category(fields[name])
        fields.setdefault("name", fields["code"])
        Promotion.objects.create(version=version, **fields)
    return version


def published_version(store, *, effective_from: datetime | None = None, **rules) -> PriceVersion:
    version = draft_version(store, **rules)
    return price_version_publish(version=version, actor=ACTOR, effective_from=effective_from)
