"""Catalog CSV import and export: all rows or none, every problem with its row number, and an
export that imports back to the same catalog."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from catalog.models import Product, ProductPrice, ScanCode
from catalog.services.catalog_csv import CsvImportRejected, catalog_csv_export, catalog_csv_import
from catalog.services.versions import DraftRequired
from catalog.tests import factories as catalog
from core import clock
from tests.factories import make_store

pytestmark = pytest.mark.django_db
HEADER = "sku,name,active,scan_codes,sale_unit,unit_price,tax_category,category\n"


@pytest.fixture
def draft(db):
    with clock.override(datetime(2025, 5, 1, tzinfo=UTC)):
        catalog.tax_category("STANDARD")
        catalog.tax_category("FOOD")
        catalog.category("FRUIT")
        yield catalog.draft_version(
            make_store(store_id="STORE-001"), tax_rates={"STANDARD": 0, "FOOD": 0}
        )


def test_import_creates_products_scan_codes_and_draft_prices(draft):
    text = HEADER + (
        "SKU-001,Cola 330ml,true,012345678905|0049000042566,UNIT,1.99,STANDARD,\n"
        "SKU-BANANA,Bananas,true,,KG,2.99,FOOD,FRUIT\n"
    )

    report = catalog_csv_import(version=draft, text=text, actor=catalog.ACTOR)

    assert (report.rows, report.products_created, report.scan_codes_added, report.prices_set) == (
        2,
        2,
        2,
        2,
    )
    banana = ProductPrice.objects.get(version=draft, product__sku="SKU-BANANA")
    assert (
        banana.sale_unit,
        banana.unit_price,
        banana.tax_category.code,
        banana.category.code,
    ) == (
        "KG",
        Decimal("2.99"),
        "FOOD",
        "FRUIT",
    )
    assert ScanCode.objects.get(code="0049000042566").kind == "EAN_13"


def test_import_updates_existing_products_and_prices(draft):
    catalog.product("SKU-001", name="Old name")
    catalog_csv_import(
        version=draft, text=HEADER + "SKU-001,Old name,true,,UNIT,1.00,STANDARD,\n", actor="a"
    )

    report = catalog_csv_import(
        version=draft, text=HEADER + "SKU-001,New name,false,,UNIT,1.50,STANDARD,\n", actor="a"
    )

    assert (report.products_created, report.products_updated, report.prices_set) == (0, 1, 1)
    product = Product.objects.get(sku="SKU-001")
    assert (product.name, product.active) == ("New name", False)
    assert ProductPrice.objects.get(version=draft, product=product).unit_price == Decimal("1.50")


def test_a_bad_file_imports_nothing_and_lists_every_problem_by_row(draft):
    text = HEADER + (
        "SKU-OK,Fine,true,,UNIT,1.00,STANDARD,\n"
        "SKU-2,Bad price,true,,UNIT,1.999,STANDARD,\n"
        "SKU-3,Bad unit,true,,BOX,1.00,STANDARD,\n"
        "SKU-4,Bad tax,true,,UNIT,1.00,LUXURY,\n"
        "SKU-5,Bad code,true,012345678906,UNIT,1.00,STANDARD,\n"
        "SKU-OK,Twice,true,,UNIT,1.00,STANDARD,\n"
    )

    with pytest.raises(CsvImportRejected) as rejected:
        catalog_csv_import(version=draft, text=text, actor="a")

    assert [error.split(":")[0] for error in rejected.value.errors] == [
        "row 3",
        "row 4",
        "row 5",
        "row 6",
        "row 7",
    ]
    assert "check digit" in rejected.value.errors[3]
    assert not Product.objects.exists()


def test_a_scan_code_of_another_product_is_refused(draft):
    catalog.product("SKU-A", scan_codes=["012345678905"])

    with pytest.raises(CsvImportRejected, match="problem"):
        catalog_csv_import(
            version=draft,
            text=HEADER + "SKU-B,B,true,012345678905,UNIT,1.00,STANDARD,\n",
            actor="a",
        )


def test_missing_columns_are_reported(draft):
    with pytest.raises(CsvImportRejected) as rejected:
        catalog_csv_import(version=draft, text="sku,name\nA,B\n", actor="a")

    assert "missing column" in rejected.value.errors[0]


def test_only_a_draft_takes_an_import(draft):
    from catalog.services.versions import price_version_publish

    catalog_csv_import(
        version=draft, text=HEADER + "SKU-1,A,true,,UNIT,1.00,STANDARD,\n", actor="a"
    )
    with clock.override(datetime(2025, 5, 1, tzinfo=UTC)):
        published = price_version_publish(version=draft, actor="a")

    with pytest.raises(DraftRequired):
        catalog_csv_import(version=published, text=HEADER, actor="a")


def test_export_then_import_gives_the_same_catalog(draft):
    text = HEADER + (
        "SKU-001,Cola,true,0049000042566|012345678905,UNIT,1.99,STANDARD,\n"
        "SKU-BANANA,Bananas,false,,KG,2.99,FOOD,FRUIT\n"
    )
    catalog_csv_import(version=draft, text=text, actor="a")

    exported = catalog_csv_export(version=draft)

    assert exported == text  # scan codes sorted, prices with their decimals
    again = catalog_csv_import(version=draft, text=exported, actor="a")
    assert (again.products_created, again.products_updated, again.scan_codes_added) == (0, 0, 0)
