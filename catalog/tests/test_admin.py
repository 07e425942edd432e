"""Catalog admin as store staff use it: products, drafts, preview, publish, rollback, CSV."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.enums import VersionStatus
from catalog.models import PriceVersion, ProductPrice
from catalog.tests import factories as catalog
from core import clock
from core.roles import roles_sync
from tests.factories import make_store

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def staff_client(client, db):
    roles_sync()
    user = User.objects.create_user("pat", password="not-used", is_staff=True)
    user.groups.add(Group.objects.get(name="Store staff"))
    client.force_login(user)
    with clock.override(T0):
        yield client


@pytest.fixture
def store(db):
    return make_store(store_id="STORE-001")


def test_staff_see_the_catalog_pages(staff_client, store):
    catalog.product("SKU-1", scan_codes=["012345678905"])
    version = catalog.published_version(store, prices={"SKU-1": Decimal("1.00")})

    for url in [
        reverse("admin:catalog_product_changelist"),
        reverse("admin:catalog_product_changelist") + "?q=012345678905",
        reverse("admin:catalog_priceversion_changelist"),
        reverse("admin:catalog_priceversion_change", args=[version.pk]),
        reverse("admin:catalog_productprice_changelist") + f"?version__id__exact={version.pk}",
        reverse("admin:catalog_promotion_changelist"),
    ]:
        assert staff_client.get(url).status_code == 200, url


def test_staff_create_a_draft_with_a_reason_through_the_add_form(staff_client, store):
    live = catalog.published_version(store, prices={"SKU-1": Decimal("1.00")})

    response = staff_client.post(
        reverse("admin:catalog_priceversion_add"),
        {"store": store.pk, "based_on": live.pk, "reason": "weekend prices"},
    )

    assert response.status_code == 302
    draft = PriceVersion.objects.get(number=2)
    assert (draft.status, draft.reason, draft.based_on) == (
        VersionStatus.DRAFT,
        "weekend prices",
        live,
    )
    assert draft.author.startswith("user:") and draft.author.endswith(":pat")
    assert ProductPrice.objects.filter(version=draft).count() == 1


def test_published_prices_are_read_only_in_admin(staff_client, store):
    version = catalog.published_version(store, prices={"SKU-1": Decimal("1.00")})
    price = ProductPrice.objects.get(version=version)

    response = staff_client.post(
        reverse("admin:catalog_productprice_change", args=[price.pk]),
        {
            "version": version.pk,
            "product": price.product_id,
            "sale_unit": "UNIT",
            "unit_price": "9.00",
            "tax_category": price.tax_category_id,
        },
    )

    assert response.status_code == 403
    assert ProductPrice.objects.get(pk=price.pk).unit_price == Decimal("1.00")


def test_preview_publish_and_rollback_pages(staff_client, store):
    catalog.product("SKU-1")
    first = catalog.published_version(store, prices={"SKU-1": Decimal("1.00")})
    draft = catalog.draft_version(store, prices={"SKU-1": Decimal("1.50")})

    preview = staff_client.post(
        reverse("admin:catalog_priceversion_preview", args=[draft.pk]), {"cart": "SKU-1 2"}
    )
    publish = staff_client.post(
        reverse("admin:catalog_priceversion_publish", args=[draft.pk]), {"reason": "go"}
    )
    rollback = staff_client.post(
        reverse("admin:catalog_priceversion_rollback", args=[first.pk]), {"reason": "too dear"}
    )

    assert preview.status_code == 200
    assert b"3.00" in preview.content and b"2.00" in preview.content  # draft beside live
    assert publish.status_code == 302
    assert PriceVersion.objects.get(pk=draft.pk).status == VersionStatus.PUBLISHED
    assert rollback.status_code == 302
    rolled = PriceVersion.objects.get(number=3)
    assert (rolled.status, rolled.based_on) == (VersionStatus.PUBLISHED, first)


def test_publish_page_shows_why_a_draft_cannot_go_live(staff_client, store):
    draft = catalog.draft_version(store, prices={"SKU-1": (Decimal("1.00"), "UNIT", "FOOD", None)})

    response = staff_client.post(reverse("admin:catalog_priceversion_publish", args=[draft.pk]), {})

    assert response.status_code == 200
    assert b"tax category FOOD has no rate" in response.content


def test_csv_import_and_export_pages(staff_client, store):
    catalog.tax_category("STANDARD")
    draft = catalog.draft_version(store)
    upload = SimpleUploadedFile(
        "catalog.csv",
        b"sku,name,active,scan_codes,sale_unit,unit_price,tax_category,category\n"
        b"SKU-9,Nine,true,,UNIT,9.99,STANDARD,\n",
    )

    imported = staff_client.post(
        reverse("admin:catalog_priceversion_import", args=[draft.pk]), {"file": upload}
    )
    exported = staff_client.get(reverse("admin:catalog_priceversion_export", args=[draft.pk]))

    assert imported.status_code == 200 and b"Imported 1 row" in imported.content
    assert exported["Content-Type"].startswith("text/csv")
    assert b"SKU-9,Nine,true,,UNIT,9.99,STANDARD," in exported.content


def test_promotion_form_checks_what_its_kind_needs(staff_client, store):
    draft = catalog.draft_version(store)

    response = staff_client.post(
        reverse("admin:catalog_promotion_add"),
        {
            "version": draft.pk,
            "code": "BAD",
            "name": "bad",
            "kind": "PERCENT_OFF",
            "stacking": "EXCLUSIVE",
            "priority": 0,
        },
    )

    assert response.status_code == 200
    assert b"percent must be above 0" in response.content
