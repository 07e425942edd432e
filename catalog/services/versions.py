"""Price versions: draft (a copy of the live rules), check, publish, discard, roll back.

Every pricing change is a new version with its author, time and reason. A published version is
never edited; rolling back publishes a new version that copies an earlier one, so the history
stays complete and a trip is always priced with the rules in force at its ``endTime``.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Max

from core import clock
from core.audit import audit_record
from core.errors import ApplicationError
from core.money import round_money
from trips.models import Store

from ..enums import PromotionKind, VersionStatus
from ..models import PriceVersion, ProductPrice, Promotion, TaxRate
from ..selectors import price_version_in_force
from ..transitions import price_version_transition

COPY_BATCH = 2000
PROMOTION_COPY_FIELDS = [
    field.attname
    for field in Promotion._meta.concrete_fields
    if field.attname not in ("id", "version_id")
]


class DraftRequired(ApplicationError):
    code = "DraftRequired"
    http_status = 409


class PublishRefused(ApplicationError):
    code = "PublishRefused"
    http_status = 409

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems)[:500])
        self.problems = problems


def _next_number(store: Store) -> int:
    latest = PriceVersion.objects.filter(store=store).aggregate(n=Max("number"))["n"]
    return (latest or 0) + 1


def _default_source(store: Store) -> PriceVersion | None:
    live = price_version_in_force(store=store, at=clock.now())
    if live is not None:
        return live
    return (
        PriceVersion.objects.filter(store=store, status=VersionStatus.PUBLISHED)
        .order_by("-number")
        .first()
    )


def price_version_create_draft(
    *, store: Store, actor: str, reason: str, based_on: PriceVersion | None = None
) -> PriceVersion:
    """A new draft holding a copy of ``based_on`` (default: the live version) to edit."""
    if not reason.strip():
        raise ApplicationError("a pricing change needs a reason", code="ReasonRequired")
    source = based_on if based_on is not None else _default_source(store)
    if source is not None and source.store_id != store.pk:
        raise ApplicationError("a version can only copy a version of its own store")
    with transaction.atomic():
        version = None
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    version = PriceVersion.objects.create(
                        store=store,
                        number=_next_number(store),
                        currency=store.currency,
                        prices_include_tax=source.prices_include_tax if source else False,
                        tax_rounding=source.tax_rounding if source else "PER_LINE",
                        based_on=source,
                        reason=reason.strip()[:500],
                        author=actor,
                        created_at=clock.now(),
                    )
                break
            except IntegrityError:
                continue  # another draft took the number: take the next one
        if version is None:
            raise ApplicationError("could not number the new version; try again")
        if source is not None:
            _copy_rules(source, version)
        audit_record(
            entity="price_version",
            entity_id=f"{store.pk}:{version.number}",
            action="created",
            to_state=VersionStatus.DRAFT,
            actor=actor,
            reason=reason,
            context={"based_on": source.number if source else None},
        )
    return version


def _copy_rules(source: PriceVersion, target: PriceVersion) -> None:
    prices = ProductPrice.objects.filter(version=source).values(
        "product_id", "sale_unit", "unit_price", "currency", "tax_category_id", "category_id"
    )
    batch = []
    for row in prices.iterator(chunk_size=COPY_BATCH):
        batch.append(ProductPrice(version=target, **row))
        if len(batch) >= COPY_BATCH:
            ProductPrice.objects.bulk_create(batch)
            batch = []
    ProductPrice.objects.bulk_create(batch)
    TaxRate.objects.bulk_create(
        TaxRate(version=target, **row)
        for row in TaxRate.objects.filter(version=source).values("tax_category_id", "rate_percent")
    )
    Promotion.objects.bulk_create(
        Promotion(version=target, **row)
        for row in Promotion.objects.filter(version=source).values(*PROMOTION_COPY_FIELDS)
    )


def promotion_problems(promotion: Promotion, currency: str) -> list[str]:
    """What is wrong with a promotion's fields for its kind (empty when it is usable)."""
    kind, problems = promotion.kind, []
    say = problems.append

    def positive_percent():
        if promotion.percent is None or not 0 < promotion.percent <= 100:
            say(f"{promotion.code}: percent must be above 0 and at most 100")

    for name in ("amount", "bundle_price", "threshold"):
        value = getattr(promotion, name)
        if value is not None and (value < 0 or round_money(value, currency) != value):
            say(f"{promotion.code}: {name} must be a non-negative {currency} amount")
    if kind != PromotionKind.BUY_X_GET_Y and (
        promotion.reward_product_id or promotion.reward_category_id
    ):
        say(f"{promotion.code}: only buy X get Y promotions have a reward target")
    if promotion.reward_product_id and promotion.reward_category_id:
        say(f"{promotion.code}: choose a reward product or a reward category, not both")
    if kind == PromotionKind.PERCENT_OFF:
        positive_percent()
    elif kind == PromotionKind.AMOUNT_OFF:
        if not promotion.amount or promotion.amount <= 0:
            say(f"{promotion.code}: amount must be above 0")
    elif kind == PromotionKind.BUY_N_PAY_M:
        quantity, pay = promotion.quantity or 0, promotion.pay_quantity or 0
        if quantity < 2 or not 1 <= pay < quantity:
            say(f"{promotion.code}: N for M needs N >= 2 and 1 <= M < N")
    elif kind == PromotionKind.BUNDLE_PRICE:
        if (promotion.quantity or 0) < 2 or promotion.bundle_price is None:
            say(f"{promotion.code}: a bundle needs a quantity >= 2 and a bundle price")
    elif kind == PromotionKind.BUY_X_GET_Y:
        if (promotion.quantity or 0) < 1 or (promotion.get_quantity or 0) < 1:
            say(f"{promotion.code}: buy X get Y needs X >= 1 and Y >= 1")
        if promotion.percent is not None:
            positive_percent()
    elif kind == PromotionKind.SPEND_THRESHOLD:
        if promotion.threshold is None:
            say(f"{promotion.code}: a spend threshold needs a threshold")
        if (promotion.percent is None) == (promotion.amount is None):
            say(f"{promotion.code}: give either a percent or an amount off")
        elif promotion.percent is not None:
            positive_percent()
    return problems


def price_version_problems(version: PriceVersion) -> list[str]:
    """Everything that stops a version from going live."""
    problems = []
    if version.currency != version.store.currency:
        problems.append(
            f"the version is in {version.currency}, the store in {version.store.currency}"
        )
    rated = set(TaxRate.objects.filter(version=version).values_list("tax_category_id", flat=True))
    missing = (
        ProductPrice.objects.filter(version=version)
        .exclude(tax_category_id__in=rated)
        .values_list("tax_category__code", flat=True)
        .distinct()
    )
    for code in missing:
        problems.append(f"tax category {code} has no rate in this version")
    wrong_currency = ProductPrice.objects.filter(version=version).exclude(currency=version.currency)
    if wrong_currency.exists():
        problems.append(f"{wrong_currency.count()} price(s) are not in {version.currency}")
    for price in ProductPrice.objects.filter(version=version).only("unit_price").iterator():
        if round_money(price.unit_price, version.currency) != price.unit_price:
            problems.append(f"a price has more decimals than {version.currency} allows")
            break
    for promotion in Promotion.objects.filter(version=version):
        problems.extend(promotion_problems(promotion, version.currency))
    return problems


def price_version_publish(
    *, version: PriceVersion, actor: str, effective_from: datetime | None = None, reason: str = ""
) -> PriceVersion:
    """Make a draft live from ``effective_from`` (default now; never in the past)."""
    now = clock.now()
    when = effective_from or now
    if when < now:
        raise ApplicationError(
            "a version cannot take effect in the past: trips already ended keep their prices",
            code="EffectiveInPast",
        )
    if version.status != VersionStatus.DRAFT:
        raise DraftRequired(f"v{version.number} is {version.status.lower()}, not a draft")
    problems = price_version_problems(version)
    if problems:
        raise PublishRefused(problems)
    return price_version_transition(
        version_pk=version.pk,
        to_status=VersionStatus.PUBLISHED,
        actor=actor,
        reason=reason or version.reason,
        updates={"published_by": actor, "published_at": now, "effective_from": when},
    )


def price_version_discard(*, version: PriceVersion, actor: str, reason: str = "") -> PriceVersion:
    return price_version_transition(
        version_pk=version.pk, to_status=VersionStatus.DISCARDED, actor=actor, reason=reason
    )


def price_version_rollback(*, to_version: PriceVersion, actor: str, reason: str) -> PriceVersion:
    """Publish, now, a new version whose rules are a copy of ``to_version``."""
    if to_version.status != VersionStatus.PUBLISHED:
        raise ApplicationError("only a published version can be rolled back to")
    with transaction.atomic():
        draft = price_version_create_draft(
            store=to_version.store,
            actor=actor,
            reason=f"rollback to v{to_version.number}: {reason}",
            based_on=to_version,
        )
        return price_version_publish(version=draft, actor=actor)


def ensure_draft(version: PriceVersion) -> None:
    if version.status != VersionStatus.DRAFT:
        raise DraftRequired(f"v{version.number} is {version.status.lower()}: edit a new draft")
