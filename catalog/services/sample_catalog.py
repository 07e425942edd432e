"""A small sample catalog for a store (demo and rehearsal): the SKUs and scan codes the
simulator's scenarios use, a tax rate, and one promotion of each common kind, published now."""

from decimal import Decimal

from django.db import transaction

from trips.models import Store

from ..enums import SaleUnit
from ..models import (
    Category,
    PriceVersion,
    Product,
    ProductPrice,
    Promotion,
    ScanCode,
    TaxCategory,
    TaxRate,
)
from ..scan_codes import scan_code_kind_for
from .versions import price_version_create_draft, price_version_publish

# sku, name, sale unit, price, tax category, category, scan codes
PRODUCTS = [
    (
        "SKU-001",
        "Sparkling water 500 ml",
        SaleUnit.UNIT,
        "1.49",
        "STANDARD",
        "DRINKS",
        ["012345678905"],
    ),
    ("SKU-002", "Dark chocolate bar", SaleUnit.UNIT, "2.99", "STANDARD", "SNACKS", []),
    ("SKU-003", "Greek yoghurt 500 g", SaleUnit.UNIT, "3.49", "FOOD", "DAIRY", []),
    ("SKU-BANANA", "Bananas", SaleUnit.KG, "2.99", "FOOD", "FRUIT", []),
    ("SKU-COLA", "Cola 330 ml", SaleUnit.UNIT, "1.99", "STANDARD", "DRINKS", ["0049000042566"]),
]
TAX_RATES = {"STANDARD": Decimal("8.875"), "FOOD": Decimal("0")}


@transaction.atomic
def catalog_sample_seed(*, store: Store, actor: str) -> PriceVersion:
    taxes = {
        code: TaxCategory.objects.get_or_create(code=code, defaults={"name": code.title()})[0]
        for code in TAX_RATES
    }
    categories = {}
    for sku, name, _unit, _price, _tax, category, codes in PRODUCTS:
        categories[category] = Category.objects.get_or_create(
            code=category, defaults={"name": category.title()}
        )[0]
        product, _ = Product.objects.get_or_create(sku=sku, defaults={"name": name})
        for code in codes:
            ScanCode.objects.get_or_create(
                code=code, defaults={"product": product, "kind": scan_code_kind_for(code)}
            )
    draft = price_version_create_draft(store=store, actor=actor, reason="sample catalog")
    for sku, _name, sale_unit, price, tax, category, _codes in PRODUCTS:
        ProductPrice.objects.update_or_create(
            version=draft,
            product=Product.objects.get(sku=sku),
            defaults={
                "sale_unit": sale_unit,
                "unit_price": Decimal(price),
                "currency": draft.currency,
                "tax_category": taxes[tax],
                "category": categories[category],
            },
        )
    for code, rate in TAX_RATES.items():
        TaxRate.objects.update_or_create(
            version=draft, tax_category=taxes[code], defaults={"rate_percent": rate}
        )
    Promotion.objects.filter(version=draft).delete()
    Promotion.objects.bulk_create(
        [
            Promotion(
                version=draft, code="DRINKS-3FOR2", name="Drinks: 3 for 2",
                kind="BUY_N_PAY_M", target_category=categories["DRINKS"], quantity=3,
                pay_quantity=2,
            ),
            Promotion(
                version=draft, code="CHOC-10", name="Chocolate 10% off", kind="PERCENT_OFF",
                target_product=Product.objects.get(sku="SKU-002"), percent=Decimal(10),
            ),
            Promotion(
                version=draft, code="SPEND20", name="$2 off $20", kind="SPEND_THRESHOLD",
                threshold=Decimal(20), amount=Decimal(2), stacking="STACKABLE",
            ),
        ]
    )  # fmt: skip
    return price_version_publish(version=draft, actor=actor)
