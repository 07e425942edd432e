"""Price versions: every change is a new version with author, time and reason; published versions
are immutable (the database refuses changes); rollback publishes a copy; a draft can be
previewed before it goes live."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, ProgrammingError, transaction

from catalog.enums import VersionStatus
from catalog.models import PriceVersion, ProductPrice, Promotion, TaxRate
from catalog.selectors import price_version_in_force, version_rules
from catalog.services.preview import price_version_preview, sample_cart_parse
from catalog.services.versions import (
    DraftRequired,
    PublishRefused,
    price_version_create_draft,
    price_version_discard,
    price_version_publish,
    price_version_rollback,
)
from catalog.tests import factories as catalog
from core import clock
from core.errors import ApplicationError
from core.models import AuditEntry
from tests.factories import make_store

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)
ACTOR = catalog.ACTOR


@pytest.fixture
def store(db):
    with clock.override(T0):
        yield make_store(store_id="STORE-001")


def test_a_draft_copies_the_live_version_and_records_author_time_and_reason(store):
    live = catalog.published_version(
        store,
        prices={"SKU-1": Decimal("1.00")},
        tax_rates={"STANDARD": Decimal("5")},
        promotions=[{"code": "TEN", "kind": "PERCENT_OFF", "percent": Decimal(10)}],
    )

    draft = price_version_create_draft(store=store, actor=ACTOR, reason="summer prices")

    assert (draft.number, draft.status, draft.based_on) == (2, VersionStatus.DRAFT, live)
    assert (draft.author, draft.reason, draft.created_at) == (ACTOR, "summer prices", T0)
    assert ProductPrice.objects.filter(version=draft).count() == 1
    assert TaxRate.objects.get(version=draft).rate_percent == Decimal("5")
    assert Promotion.objects.get(version=draft).code == "TEN"
    assert (
        AuditEntry.objects.filter(entity="price_version", action="created", actor=ACTOR).count()
        == 2
    )


def test_a_change_needs_a_reason(store):
    with pytest.raises(ApplicationError):
        price_version_create_draft(store=store, actor=ACTOR, reason="  ")


def test_publishing_records_who_and_when_and_makes_it_the_one_in_force(store):
    draft = catalog.draft_version(store, prices={"SKU-1": Decimal("1.00")})

    with clock.override(T0 + timedelta(minutes=5)):
        published = price_version_publish(version=draft, actor="user:2:lead")

    assert published.status == VersionStatus.PUBLISHED
    assert (published.published_by, published.published_at) == (
        "user:2:lead",
        T0 + timedelta(minutes=5),
    )
    assert price_version_in_force(store=store, at=T0 + timedelta(minutes=5)) == published
    assert price_version_in_force(store=store, at=T0 + timedelta(minutes=4)) is None


def test_a_version_cannot_take_effect_in_the_past(store):
    draft = catalog.draft_version(store, prices={"SKU-1": Decimal("1.00")})

    with pytest.raises(ApplicationError, match="past"):
        price_version_publish(version=draft, actor=ACTOR, effective_from=T0 - timedelta(seconds=1))


def test_publish_is_refused_while_a_tax_category_has_no_rate(store):
    draft = catalog.draft_version(store, prices={"SKU-1": (Decimal("1.00"), "UNIT", "FOOD", None)})

    with pytest.raises(PublishRefused) as refused:
        price_version_publish(version=draft, actor=ACTOR)

    assert refused.value.problems == ["tax category FOOD has no rate in this version"]
    assert PriceVersion.objects.get(pk=draft.pk).status == VersionStatus.DRAFT


def test_publish_is_refused_for_a_promotion_missing_what_its_kind_needs(store):
    draft = catalog.draft_version(
        store,
        prices={"SKU-1": Decimal("1.00")},
        promotions=[{"code": "BAD", "kind": "BUY_N_PAY_M", "quantity": 3, "pay_quantity": 3}],
    )

    with pytest.raises(PublishRefused, match="N for M"):
        price_version_publish(version=draft, actor=ACTOR)


def test_a_published_version_cannot_be_published_again_or_edited_by_services(store):
    version = catalog.published_version(store, prices={"SKU-1": Decimal("1.00")})

    with pytest.raises(DraftRequired):
        price_version_publish(version=version, actor=ACTOR)
    with pytest.raises(ApplicationError):
        price_version_discard(version=version, actor=ACTOR)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda v: ProductPrice.objects.filter(version=v).update(unit_price=9), id="price"
        ),
        pytest.param(lambda v: TaxRate.objects.filter(version=v).update(rate_percent=9), id="tax"),
        pytest.param(lambda v: ProductPrice.objects.filter(version=v).delete(), id="delete"),
        pytest.param(
            lambda v: ProductPrice.objects.create(
                version=v,
                product=catalog.product("SKU-NEW"),
                unit_price=1,
                currency="USD",
                tax_category=catalog.tax_category(),
            ),
            id="insert",
        ),
        pytest.param(
            lambda v: PriceVersion.objects.filter(pk=v.pk).update(reason="x"), id="version"
        ),
    ],
)
def test_the_database_refuses_any_change_to_a_published_version(store, change):
    version = catalog.published_version(store, prices={"SKU-1": Decimal("1.00")})

    with pytest.raises((InternalError, ProgrammingError, IntegrityError)), transaction.atomic():
        change(version)

    assert ProductPrice.objects.get(version=version).unit_price == Decimal("1.00")


def test_drafts_stay_editable(store):
    draft = catalog.draft_version(store, prices={"SKU-1": Decimal("1.00")})

    ProductPrice.objects.filter(version=draft).update(unit_price=Decimal("2.00"))

    assert ProductPrice.objects.get(version=draft).unit_price == Decimal("2.00")


def test_rollback_publishes_a_new_version_copying_the_earlier_one(store):
    first = catalog.published_version(store, prices={"SKU-1": Decimal("1.00")})
    with clock.override(T0 + timedelta(hours=1)):
        second = catalog.published_version(store, prices={"SKU-1": Decimal("5.00")}, reason="oops")
    with clock.override(T0 + timedelta(hours=2)):
        rolled = price_version_rollback(to_version=first, actor=ACTOR, reason="wrong price")

    assert (rolled.number, rolled.based_on, rolled.status) == (3, first, VersionStatus.PUBLISHED)
    assert rolled.reason == "rollback to v1: wrong price"
    assert ProductPrice.objects.get(version=rolled).unit_price == Decimal("1.00")
    # history is kept: trips that ended while v2 was live still price with v2
    assert price_version_in_force(store=store, at=T0 + timedelta(hours=1, minutes=30)) == second
    assert price_version_in_force(store=store, at=T0 + timedelta(hours=2)) == rolled


def test_draft_preview_prices_a_sample_cart_beside_the_live_version(store):
    catalog.product("SKU-COLA", scan_codes=["0049000042566"])
    catalog.published_version(store, prices={"SKU-1": Decimal("1.00"), "SKU-COLA": Decimal("2.00")})
    draft = catalog.draft_version(
        store,
        prices={"SKU-1": Decimal("1.20")},
        promotions=[
            {
                "code": "COLA2",
                "kind": "BUNDLE_PRICE",
                "target_product": "SKU-COLA",
                "quantity": 2,
                "bundle_price": Decimal("3.00"),
            }
        ],
    )

    preview = price_version_preview(
        version=draft, items=sample_cart_parse("SKU-1 2\n0049000042566 2 unit\n")
    )

    assert preview.result.total == Decimal("5.40")  # 2 × 1.20 + 2 colas for 3.00
    assert preview.live_result.total == Decimal("6.00")
    assert PriceVersion.objects.get(pk=draft.pk).status == VersionStatus.DRAFT


def test_sample_cart_lines_are_checked():
    with pytest.raises(ApplicationError, match="line 2"):
        sample_cart_parse("SKU-1 1\nSKU-2 lots\n")
    with pytest.raises(ApplicationError, match="unit"):
        sample_cart_parse("SKU-1 1 stone")


def test_published_rules_are_cached_and_drafts_are_not(store, django_assert_num_queries):
    version = catalog.published_version(store, prices={"SKU-1": Decimal("1.00")})
    version_rules(version)

    with django_assert_num_queries(0):
        assert version_rules(version).version == version
