"""Catalog CSV import and export: products, scan codes and a draft version's prices.

Columns: ``sku,name,active,scan_codes,sale_unit,unit_price,tax_category,category``
(``scan_codes`` separated by ``|``; ``active`` true/false; ``sale_unit`` UNIT, KG or LB).
An import is checked completely first and then applied in one transaction: either every row
lands or nothing changes, and the report lists every problem with its row number. Products and
scan codes are master data (they change at once); prices go into the chosen draft version and
only apply once it is published.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.errors import ApplicationError
from core.money import round_money

from ..enums import SaleUnit
from ..models import Category, PriceVersion, Product, ProductPrice, ScanCode, TaxCategory
from ..scan_codes import scan_code_kind_for, scan_code_problem
from .versions import ensure_draft

COLUMNS = [
    "sku",
    "name",
    "active",
    "scan_codes",
    "sale_unit",
    "unit_price",
    "tax_category",
    "category",
]
MAX_ROWS = 100_000
TRUE, FALSE = {"true", "1", "yes", "y"}, {"false", "0", "no", "n"}


@dataclass
class ImportReport:
    rows: int = 0
    products_created: int = 0
    products_updated: int = 0
    scan_codes_added: int = 0
    prices_set: int = 0
    errors: list[str] = field(default_factory=list)


class CsvImportRejected(ApplicationError):
    code = "CsvImportRejected"

    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} problem(s); nothing was imported")
        self.errors = errors


@dataclass(frozen=True)
class _Row:
    number: int
    sku: str
    name: str
    active: bool
    scan_codes: tuple[str, ...]
    sale_unit: str
    unit_price: Decimal
    tax_category: TaxCategory
    category: Category | None


def catalog_csv_export(*, version: PriceVersion) -> str:
    prices = (
        ProductPrice.objects.filter(version=version)
        .select_related("product", "tax_category", "category")
        .prefetch_related("product__scan_codes")
        .order_by("product__sku")
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for price in prices:
        product = price.product
        writer.writerow(
            [
                product.sku,
                product.name,
                "true" if product.active else "false",
                "|".join(sorted(code.code for code in product.scan_codes.all())),
                price.sale_unit,
                str(price.unit_price),
                price.tax_category.code,
                price.category.code if price.category else "",
            ]
        )
    return out.getvalue()


def _parse(text: str, currency: str) -> tuple[list[_Row], list[str]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        return [], [f"header: missing column(s) {', '.join(missing)}"]
    taxes = {tax.code: tax for tax in TaxCategory.objects.all()}
    categories = {category.code: category for category in Category.objects.all()}
    rows, errors, seen = [], [], set()
    for number, raw in enumerate(reader, start=2):
        if number > MAX_ROWS + 1:
            errors.append(f"more than {MAX_ROWS} rows")
            break
        problems = []
        sku = (raw["sku"] or "").strip()
        if not sku or len(sku) > 255:
            problems.append("sku must have 1 to 255 characters")
        elif sku in seen:
            problems.append(f"sku {sku} appears twice")
        seen.add(sku)
        active_text = (raw["active"] or "true").strip().lower()
        if active_text not in TRUE | FALSE:
            problems.append("active must be true or false")
        sale_unit = (raw["sale_unit"] or "UNIT").strip().upper()
        if sale_unit not in SaleUnit.values:
            problems.append("sale_unit must be UNIT, KG or LB")
        try:
            unit_price = Decimal((raw["unit_price"] or "").strip())
            if unit_price < 0 or round_money(unit_price, currency) != unit_price:
                problems.append(f"unit_price must be a non-negative {currency} amount")
        except (InvalidOperation, ValueError):
            unit_price = Decimal(0)
            problems.append("unit_price is not a number")
        tax = taxes.get((raw["tax_category"] or "").strip())
        if tax is None:
            problems.append(f"unknown tax_category {raw['tax_category']!r}")
        category_code = (raw["category"] or "").strip()
        category = categories.get(category_code) if category_code else None
        if category_code and category is None:
            problems.append(f"unknown category {category_code!r}")
        codes = tuple(code.strip() for code in (raw["scan_codes"] or "").split("|") if code.strip())
        for code in codes:
            problem = scan_code_problem(code, scan_code_kind_for(code))
            if problem:
                problems.append(f"scan code {code}: {problem}")
        if problems:
            errors.extend(f"row {number}: {problem}" for problem in problems)
            continue
        rows.append(
            _Row(
                number,
                sku,
                (raw["name"] or sku).strip()[:300],
                active_text in TRUE,
                codes,
                sale_unit,
                unit_price,
                tax,
                category,
            )
        )
    return rows, errors


def catalog_csv_import(*, version: PriceVersion, text: str, actor: str) -> ImportReport:
    """Import products, scan codes and prices into a draft version (all or nothing)."""
    ensure_draft(version)
    rows, errors = _parse(text, version.currency)
    existing_codes = {
        code.code: code.product.sku
        for code in ScanCode.objects.filter(
            code__in=[code for row in rows for code in row.scan_codes]
        ).select_related("product")
    }
    claimed: dict[str, str] = {}
    for row in rows:
        for code in row.scan_codes:
            owner = existing_codes.get(code) or claimed.get(code)
            if owner is not None and owner != row.sku:
                errors.append(f"row {row.number}: scan code {code} already belongs to {owner}")
            claimed[code] = row.sku
    if errors:
        raise CsvImportRejected(errors)
    report = ImportReport(rows=len(rows))
    with transaction.atomic():
        ensure_draft(PriceVersion.objects.select_for_update().get(pk=version.pk))
        products = _upsert_products(rows, report)
        new_codes = [
            ScanCode(code=code, kind=scan_code_kind_for(code), product=products[row.sku])
            for row in rows
            for code in row.scan_codes
            if code not in existing_codes
        ]
        ScanCode.objects.bulk_create(new_codes)
        report.scan_codes_added = len(new_codes)
        _upsert_prices(version, rows, products, report)
        audit_record(
            entity="price_version",
            entity_id=f"{version.store_id}:{version.number}",
            action="csv_import",
            actor=actor,
            context={
                "rows": report.rows,
                "products_created": report.products_created,
                "prices_set": report.prices_set,
            },
        )
    return report


def _upsert_products(rows: list[_Row], report: ImportReport) -> dict[str, Product]:
    products = {p.sku: p for p in Product.objects.filter(sku__in=[row.sku for row in rows])}
    created, changed = [], []
    for row in rows:
        product = products.get(row.sku)
        if product is None:
            product = Product(sku=row.sku, name=row.name, active=row.active)
            created.append(product)
            products[row.sku] = product
        elif (product.name, product.active) != (row.name, row.active):
            product.name, product.active = row.name, row.active
            product.updated_at = timezone.now()
            changed.append(product)
    Product.objects.bulk_create(created)
    Product.objects.bulk_update(changed, ["name", "active", "updated_at"])
    report.products_created, report.products_updated = len(created), len(changed)
    return products


def _upsert_prices(version, rows, products, report: ImportReport) -> None:
    current = {
        price.product_id: price
        for price in ProductPrice.objects.filter(
            version=version, product_id__in=[products[row.sku].pk for row in rows]
        )
    }
    created, changed = [], []
    for row in rows:
        product = products[row.sku]
        fields = {
            "sale_unit": row.sale_unit,
            "unit_price": row.unit_price,
            "tax_category": row.tax_category,
            "category": row.category,
            "currency": version.currency,
        }
        price = current.get(product.pk)
        if price is None:
            created.append(ProductPrice(version=version, product=product, **fields))
            continue
        for name, value in fields.items():
            setattr(price, name, value)
        changed.append(price)
    ProductPrice.objects.bulk_create(created)
    ProductPrice.objects.bulk_update(
        changed, ["sale_unit", "unit_price", "tax_category", "category", "currency"]
    )
    report.prices_set = len(created) + len(changed)
