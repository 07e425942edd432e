"""The bad-cart queue (contract §1.5): carts with lines we could not price wait here.

Staff decide each problem line (map it to a product, price it by hand, or drop it); then the cart
is re-priced with the version it was first priced with and settled: the trip goes to PRICED (or
EMPTY) and to payments in the same transaction. A cart still open at its settle-by time is
settled by the store's policy: CHARGE_KNOWN_ITEMS drops what is unknown and charges the rest;
CANCEL releases the pre-auth and reports the known total as unpaid (contract §9).

Every operation locks the trip row first (lock order: trip → purchase → case) and checks that the
case is still open, so staff and the sweep can never both settle a cart: nothing is charged twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from catalog.models import Product
from catalog.selectors import price_version_live
from core import clock
from core.alerts import alert_raise, alert_resolve
from core.audit import audit_record
from core.errors import ApplicationError
from core.models import AlertSeverity
from core.money import round_money
from trips.enums import BadCartPolicy, TripState
from trips.locks import trip_qs_for_update
from trips.models import Shopper, ShoppingTrip

from ..enums import PROBLEM_LINE_STATUSES, BadCartStatus, LineResolution, PurchaseStatus
from ..models import BadCartCase, PurchaseLine
from ..transitions import bad_cart_transition, purchase_transition
from .pricing_runs import (
    PricingRun,
    cart_price,
    promotion_uses_record,
    purchase_lines_reprice,
    stored_cart_items,
)
from .purchases import trip_settle_cart

logger = logging.getLogger(__name__)

SWEEP_ACTOR = "system:bad-cart-sweep"


class BadCartClosed(ApplicationError):
    code = "BadCartClosed"
    http_status = 409


class BadCartUnresolved(ApplicationError):
    code = "BadCartUnresolved"
    http_status = 409


def _lock_open_case(case_pk: int) -> tuple[BadCartCase, ShoppingTrip]:
    trip_pk = BadCartCase.objects.values_list("trip_id", flat=True).get(pk=case_pk)
    trip = trip_qs_for_update().get(pk=trip_pk)
    case = (
        BadCartCase.objects.select_for_update(of=("self",))
        .select_related("purchase", "store")
        .get(pk=case_pk)
    )
    if case.status != BadCartStatus.OPEN:
        raise BadCartClosed(f"this bad cart is already {case.get_status_display()}")
    return case, trip


def _needs_decision(line: PurchaseLine) -> bool:
    return line.status in PROBLEM_LINE_STATUSES and not line.resolution


def bad_cart_line_resolve(
    *,
    line_pk: int,
    actor: str,
    resolution: str,
    product: Product | None = None,
    amount: Decimal | None = None,
    tax_category: str = "",
    note: str = "",
) -> PurchaseLine:
    """Record a staff decision for one problem line (it can be changed until the cart settles)."""
    with transaction.atomic():
        purchase_id = PurchaseLine.objects.values_list("purchase_id", flat=True).get(pk=line_pk)
        case_pk = BadCartCase.objects.values_list("pk", flat=True).get(purchase_id=purchase_id)
        case, _trip = _lock_open_case(case_pk)
        line = PurchaseLine.objects.get(pk=line_pk)
        if line.status not in PROBLEM_LINE_STATUSES and not line.resolution:
            raise ApplicationError("this line was priced; only problem lines take a decision")
        line.mapped_product, line.manual_amount, line.manual_tax_category = None, None, ""
        if resolution == LineResolution.MAPPED:
            if product is None:
                raise ApplicationError("choose the product this line is")
            line.mapped_product = product
        elif resolution == LineResolution.MANUAL:
            currency = case.purchase.currency
            if amount is None or amount < 0 or round_money(amount, currency) != amount:
                raise ApplicationError(
                    f"give the line's amount in {currency}, at most its decimals"
                )
            if not tax_category:
                raise ApplicationError("choose the tax category of a line priced by hand")
            line.manual_amount, line.manual_tax_category = amount, tax_category
        elif resolution != LineResolution.DROPPED:
            raise ApplicationError(f"unknown decision {resolution!r}")
        line.resolution = resolution
        line.resolved_by, line.resolved_at = actor, clock.now()
        line.resolution_note = note[:300]
        line.save(
            update_fields=[
                "resolution",
                "mapped_product",
                "manual_amount",
                "manual_tax_category",
                "resolved_by",
                "resolved_at",
                "resolution_note",
            ]
        )
        audit_record(
            entity="purchase_line",
            entity_id=f"{case.purchase.purchase_id}#{line.position}",
            action=f"bad_cart_{resolution.lower()}",
            actor=actor,
            reason=note,
            context={
                "item_id": line.item_id,
                "mapped_product": product.sku if product else "",
                "manual_amount": str(amount) if amount is not None else "",
                "tax_category": tax_category,
            },
        )
    return line


def _reprice(case: BadCartCase, lines: list[PurchaseLine]) -> PricingRun:
    submission = case.purchase.submission
    version = case.purchase.price_version
    if version is None:
        # No version was in force when the shopper left (a store with no prices yet): staff
        # resolve such carts with the prices live now, the only rules there are.
        version = price_version_live(store=case.store)
    members = any(
        (event.get("scanResult") or {}).get("type") == "LOYALTY" for event in submission.auth_events
    )
    shopper = Shopper.objects.filter(pk=case.trip.shopper_id).first()
    return cart_price(
        store=case.store,
        end_time=submission.end_time,
        items=stored_cart_items(lines),
        members=members,
        shopper=shopper,
        version=version,
    )


def bad_cart_preview(*, case: BadCartCase) -> PricingRun:
    """What the cart would cost with the decisions taken so far (writes nothing)."""
    lines = list(case.purchase.lines.order_by("position"))
    return _reprice(case, lines)


def _settle(case, trip, lines, run: PricingRun, *, actor, to_status, outcome, cancel) -> None:
    if trip.state != TripState.BAD_CART:
        raise ApplicationError(f"the trip is {trip.state}, not in the bad-cart queue")
    result, now = run.result, clock.now()
    purchase_lines_reprice(lines=lines, run=run)
    purchase_transition(
        purchase_pk=case.purchase.pk,
        to_status=PurchaseStatus.CANCELLED if cancel else PurchaseStatus.PRICED,
        actor=actor,
        reason=outcome,
        updates={
            "subtotal": result.subtotal,
            "discount_total": result.discount_total,
            "tax_total": result.tax_total,
            "total": result.total,
            "priced_at": now,
            "price_version": run.version,
        },
    )
    if not cancel:
        shopper = Shopper.objects.filter(pk=trip.shopper_id).first()
        promotion_uses_record(purchase=case.purchase, shopper=shopper, run=run)
    # CANCEL: the pre-auth is released (EMPTY) while the known total stays owed (reported
    # total/0, contract §9). Otherwise a zero total is released and anything else charged.
    to_state = TripState.EMPTY if cancel or result.total == 0 else TripState.PRICED
    moved = trip_settle_cart(
        trip=trip,
        to_state=to_state,
        total=result.total,
        actor=actor,
        reason=outcome,
        context={"purchase_id": case.purchase.purchase_id},
    )
    if moved is None:
        raise ApplicationError("the trip could not be settled; see the alert")
    bad_cart_transition(
        case_pk=case.pk,
        to_status=to_status,
        actor=actor,
        reason=outcome,
        updates={"closed_at": now, "closed_by": actor, "outcome": outcome[:300]},
    )
    alert_resolve(key=f"bad-cart:{case.store.store_id}:{trip.shopping_trip_id}")


def bad_cart_finish(*, case_pk: int, actor: str) -> BadCartCase:
    """Staff have decided every problem line: price the cart and hand it to payments."""
    with transaction.atomic():
        case, trip = _lock_open_case(case_pk)
        lines = list(case.purchase.lines.order_by("position"))
        waiting = [line for line in lines if _needs_decision(line)]
        if waiting:
            raise BadCartUnresolved(f"{len(waiting)} line(s) still need a decision")
        run = _reprice(case, lines)
        if not run.result.complete:
            keys = ", ".join(run.result.unresolved_keys) or ", ".join(run.result.problems)
            raise BadCartUnresolved(f"still cannot be priced: {keys}"[:300])
        _settle(
            case,
            trip,
            lines,
            run,
            actor=actor,
            to_status=BadCartStatus.RESOLVED,
            outcome="resolved by staff",
            cancel=False,
        )
    return BadCartCase.objects.get(pk=case_pk)


def bad_cart_settle_by_policy(*, case_pk: int, actor: str = SWEEP_ACTOR) -> BadCartCase:
    """Settle a cart still open at its settle-by time by the store's bad-cart policy."""
    with transaction.atomic():
        case, trip = _lock_open_case(case_pk)
        policy = case.store.bad_cart_policy
        lines = list(case.purchase.lines.order_by("position"))
        run = None
        for _round in range(2):
            # Round 1: drop the lines nobody decided; round 2: also the decided lines that still
            # cannot be priced (e.g. mapped to a product without a price).
            problem_keys = set(run.result.unresolved_keys) if run else set()
            dropped = [
                line for line in lines if _needs_decision(line) or line.line_key in problem_keys
            ]
            for line in dropped:
                line.resolution = LineResolution.AUTO_DROPPED
                line.resolved_by, line.resolved_at = actor, clock.now()
            PurchaseLine.objects.bulk_update(dropped, ["resolution", "resolved_by", "resolved_at"])
            run = _reprice(case, lines)
            if not run.result.unresolved_keys:
                break
        cancel = policy == BadCartPolicy.CANCEL or bool(run.result.problems)
        outcome = f"settled by policy {policy}" + (
            " (total out of range)" if run.result.problems else ""
        )
        _settle(
            case,
            trip,
            lines,
            run,
            actor=actor,
            to_status=BadCartStatus.SETTLED_BY_POLICY,
            outcome=outcome,
            cancel=cancel,
        )
        alert_raise(
            key=f"bad-cart-policy:{trip.pk}",
            kind="bad_cart_settled_by_policy",
            severity=AlertSeverity.INFO,
            message=f"cart {case.purchase.purchase_id} {outcome} before its settle-by time",
            context={"purchase_id": case.purchase.purchase_id, "total": str(run.result.total)},
        )
    return BadCartCase.objects.get(pk=case_pk)


def bad_cart_sweep(*, limit: int = 200) -> dict[str, int]:
    """Settle, by store policy, every open bad cart whose settle-by time is (nearly) here."""
    lead = timedelta(minutes=settings.JWO_BAD_CART_SETTLE_LEAD_MINUTES)
    due = list(
        BadCartCase.objects.filter(status=BadCartStatus.OPEN, settle_by__lte=clock.now() + lead)
        .order_by("settle_by")
        .values_list("pk", flat=True)[:limit]
    )
    counts = {"settled": 0, "skipped": 0, "failed": 0}
    for case_pk in due:
        try:
            bad_cart_settle_by_policy(case_pk=case_pk)
            counts["settled"] += 1
        except BadCartClosed:
            counts["skipped"] += 1  # staff settled it meanwhile
        except ApplicationError as error:
            counts["failed"] += 1
            alert_raise(
                key=f"bad-cart-settle-failed:{case_pk}",
                kind="bad_cart_settle_failed",
                severity=AlertSeverity.CRITICAL,
                message=f"bad cart {case_pk} could not be settled by policy: {error.message}",
            )
    return counts
