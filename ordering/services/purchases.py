"""Create Purchases (contract §1): validate, de-duplicate, price, store and hand off, atomically.

One transaction per new cart. Its first write is the idempotency record, keyed
UNIQUE(store, idempotentShoppingTripId): a concurrent duplicate's INSERT waits on that row until
the first commits, then fails and is answered with the stored body (or 503 after the lock
budget). The same transaction stores the purchase and its lines, moves the trip (PRICED, EMPTY or
BAD_CART) and queues the hand-off to payments, so no accepted cart is ever lost or priced twice.
A replay is one lookup and returns the stored 201 body byte for byte, even after prices changed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction

from catalog.services.cart_lines import CartItem
from core import clock
from core.alerts import alert_raise
from core.errors import (
    Conflict,
    FieldProblem,
    InvalidTransition,
    ServiceUnavailable,
    ValidationFailed,
)
from core.models import AlertSeverity
from core.sql import row_insert, row_update, rows_insert
from jwo_client import wire
from trips.enums import TripState
from trips.models import Shopper, ShoppingTrip, Store, TripAuthEvent
from trips.selectors import store_get
from trips.services.handoff import trip_hand_to_payments
from trips.services.trips import shopper_get_or_create, trip_get_or_create
from trips.transitions import trip_transition

from ..cart_hash import cart_hash
from ..enums import PurchaseStatus
from ..models import BadCartCase, CartSubmission, Purchase
from ..selectors import cart_submission_get
from ..validation import PurchaseRequest, purchase_request_parse
from .pricing_runs import PricingRun, cart_price, promotion_uses_record, purchase_lines_create

logger = logging.getLogger(__name__)

ACTOR = "amazon:create-purchases"
KEY_CONSTRAINT = "cart_submission_key"
# Amazon waits 10 s (contract §1.6): a duplicate waits at most this long for the first delivery.
LOCK_TIMEOUT_MS = 8000
LOCK_NOT_AVAILABLE = "55P03"


class IdempotencyConflict(Conflict):
    code = "IdempotencyConflictException"


@dataclass(frozen=True, slots=True)
class PurchaseAnswer:
    status: int
    body: bytes
    replayed: bool = False


def purchase_create(*, body: Any) -> PurchaseAnswer:
    """Answer one Create Purchases delivery (``body`` is the parsed JSON)."""
    request = purchase_request_parse(body)
    problems = list(request.problems)
    store = None
    if request.store_id_valid:
        store = store_get(store_id=request.store_id)
        if store is None:
            problems.append(FieldProblem("storeId", "UNKNOWN"))
    if problems:
        raise ValidationFailed(problems)
    digest = cart_hash(
        store_id=request.store_id, items=request.items, auth_events=request.auth_events
    )
    stored = cart_submission_get(store=store, shopping_trip_id=request.trip_id)
    if stored is not None:
        return _replay(stored, digest, request)
    try:
        return _accept(store=store, request=request, digest=digest)
    except IntegrityError as error:
        if _constraint_name(error) != KEY_CONSTRAINT:
            raise
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            logger.warning(
                "create purchases: duplicate still in progress",
                extra={"request_id": request.request_id, "store_id": request.store_id},
            )
            raise ServiceUnavailable(retry_after=5) from error
        raise
    # A concurrent delivery of the same key committed first: answer as a replay.
    stored = cart_submission_get(store=store, shopping_trip_id=request.trip_id)
    return _replay(stored, digest, request)


def _constraint_name(error: IntegrityError) -> str | None:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def _replay(stored: CartSubmission, digest: str, request: PurchaseRequest) -> PurchaseAnswer:
    log = {
        "request_id": request.request_id,
        "store_id": request.store_id,
        "trip_id": request.trip_id,
    }
    if stored.cart_hash == digest:
        logger.info("create purchases: replay answered from the stored body", extra=log)
        return PurchaseAnswer(stored.response_status, bytes(stored.response_body), True)
    logger.warning("create purchases: same key, different cart; refused", extra=log)
    alert_raise(
        key=f"purchase-conflict:{request.store_id}:{request.trip_id}",
        kind="purchase_idempotency_conflict",
        message=f"a different cart arrived for trip {request.trip_id} (store {request.store_id})",
        context={**log, "stored_hash": stored.cart_hash, "received_hash": digest},
    )
    raise IdempotencyConflict("a different cart was already accepted for this trip")


def preauth_time(request: PurchaseRequest) -> datetime | None:
    """The earliest FINANCIAL entry event (contract §0.9); else the earliest entry event."""
    financial = [e.timestamp for e in request.auth_events if e.payload_type == "FINANCIAL"]
    anything = [event.timestamp for event in request.auth_events]
    return min(financial or anything) if (financial or anything) else None


def _purchase_id(store: Store, submission: CartSubmission) -> str:
    purchase_id = f"P-{store.store_id}-{submission.pk:06d}"
    return purchase_id if len(purchase_id) <= 255 else f"P-{submission.pk:06d}"


def _accept(*, store: Store, request: PurchaseRequest, digest: str) -> PurchaseAnswer:
    now = clock.now()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}")
        submission = CartSubmission(
            store=store,
            shopping_trip_id=request.trip_id,
            cart_hash=digest,
            request_id=request.request_id,
            received_at=now,
            start_time=request.start_time,
            end_time=request.end_time,
            shopper_identity_id=request.shopper_identity_id,
            shopper_device_id=request.shopper_device_id,
            payment_source_id=request.payment_source_id,
            auth_events=[_event_record(event) for event in request.auth_events],
        )
        row_insert(submission)
        shopper = None
        if request.shopper_identity_id:
            shopper = shopper_get_or_create(identity_id=request.shopper_identity_id, seen_at=now)
        trip, _ = trip_get_or_create(
            store=store,
            shopping_trip_id=request.trip_id,
            actor=ACTOR,
            shopper=shopper,
            preauth_at=preauth_time(request),
        )
        trip.store = store  # the same row: saves a query wherever trip.store is read
        _store_auth_events(trip, request)
        if request.items:
            purchase_id, outcome = _accept_items(store, request, submission, trip, shopper, now)
        else:
            purchase_id, outcome = "", _accept_empty(trip)
        body = wire.dumps({"purchaseId": purchase_id})
        submission.trip = trip
        submission.response_status = 201
        submission.response_body = body
        row_update(submission, ["trip", "response_status", "response_body"])
    logger.info(
        "create purchases: cart accepted",
        extra={
            "request_id": request.request_id,
            "store_id": store.store_id,
            "trip_id": request.trip_id,
            "purchase_id": purchase_id,
            "lines": len(request.items),
            "outcome": outcome,
        },
    )
    return PurchaseAnswer(201, body)


def _event_record(event) -> dict:
    """The §1.1 fields of an auth event as received (unknown fields are not kept)."""
    record = {
        "id": event.id,
        "timestamp": event.raw["timestamp"],
        "payloadType": event.payload_type,
    }
    if event.location:
        record["location"] = event.location
    if event.scan_result_id or event.scan_result_type:
        record["scanResult"] = {"id": event.scan_result_id, "type": event.scan_result_type}
    return record


def _store_auth_events(trip: ShoppingTrip, request: PurchaseRequest) -> None:
    rows_insert(
        [
            TripAuthEvent(
                trip=trip,
                auth_event_id=event.id,
                occurred_at=event.timestamp,
                location=event.location,
                payload_type=event.payload_type,
                scan_result_id=event.scan_result_id,
                scan_result_type=event.scan_result_type[:20],
            )
            for event in request.auth_events
        ],
        on_conflict_nothing=True,
    )


def trip_settle_cart(
    *, trip: ShoppingTrip, to_state: str, total: Decimal, actor: str, reason: str, context=None
) -> ShoppingTrip | None:
    """Move the trip to PRICED or EMPTY with its total and queue the hand-off to payments, in the
    caller's transaction. ``None`` when the trip's state does not allow it (it is alerted)."""
    try:
        moved = trip_transition(
            trip_pk=trip.pk,
            to_state=to_state,
            actor=actor,
            reason=reason,
            context=context,
            updates={"cart_total": total},
        )
    except InvalidTransition as refused:
        trip_cart_held(trip=trip, reason=str(refused))
        return None
    moved.store = trip.store
    trip_hand_to_payments(trip=moved)
    return moved


def trip_cart_held(*, trip: ShoppingTrip, reason: str) -> None:
    alert_raise(
        key=f"cart-for-trip-in-state:{trip.pk}",
        kind="cart_trip_state",
        severity=AlertSeverity.CRITICAL,
        message=f"a cart for trip {trip.shopping_trip_id} could not be settled: {reason}",
        context={"trip": trip.shopping_trip_id, "store": trip.store.store_id},
    )


def _accept_empty(trip: ShoppingTrip) -> str:
    moved = trip_settle_cart(
        trip=trip, to_state=TripState.EMPTY, total=Decimal(0), actor=ACTOR, reason="empty cart"
    )
    return TripState.EMPTY if moved else "HELD"


def _accept_items(store, request, submission, trip, shopper, now) -> tuple[str, str]:
    purchase_id = _purchase_id(store, submission)
    members = any(event.scan_result_type == "LOYALTY" for event in request.auth_events)
    items = [
        CartItem(
            key=item.key,
            item_id=item.item_id,
            item_type=item.item_type,
            quantity=item.quantity,
            unit=item.unit,
            external_ids=tuple(identifier for _, identifier in item.external_ids),
        )
        for item in request.items
    ]
    shopper = shopper or (
        Shopper.objects.filter(pk=trip.shopper_id).first() if trip.shopper_id else None
    )
    run = cart_price(
        store=store, end_time=request.end_time, items=items, members=members, shopper=shopper
    )
    result = run.result
    context = {"purchase_id": purchase_id, "request_id": request.request_id}
    if result.complete:
        to_state = TripState.PRICED if result.total > 0 else TripState.EMPTY
        moved = trip_settle_cart(
            trip=trip,
            to_state=to_state,
            total=result.total,
            actor=ACTOR,
            reason="cart priced",
            context=context,
        )
        status = PurchaseStatus.PRICED if moved else PurchaseStatus.HELD
    else:
        status = PurchaseStatus.IN_REVIEW
        try:
            trip_transition(
                trip_pk=trip.pk,
                to_state=TripState.BAD_CART,
                actor=ACTOR,
                reason=f"cart has lines we cannot price: {', '.join(result.unresolved_keys)[:200]}",
                context=context,
            )
        except InvalidTransition as refused:
            trip_cart_held(trip=trip, reason=str(refused))
            status = PurchaseStatus.HELD
    purchase = _purchase_store(purchase_id, submission, trip, store, status, run, request, now)
    if status == PurchaseStatus.PRICED:
        promotion_uses_record(purchase=purchase, shopper=shopper, run=run)
    elif status == PurchaseStatus.IN_REVIEW:
        _bad_cart_open(purchase=purchase, trip=trip, store=store, result=result, now=now)
    return purchase_id, status


def _purchase_store(purchase_id, submission, trip, store, status, run: PricingRun, request, now):
    result, version = run.result, run.version
    priced = status == PurchaseStatus.PRICED
    purchase = Purchase(
        purchase_id=purchase_id,
        submission=submission,
        trip=trip,
        store=store,
        status=status,
        price_version=version,
        currency=result.currency,
        prices_include_tax=version.prices_include_tax if version else False,
        tax_rounding=version.tax_rounding if version else "PER_LINE",
        line_count=len(request.items),
        subtotal=result.subtotal if priced else None,
        discount_total=result.discount_total if priced else None,
        tax_total=result.tax_total if priced else None,
        total=result.total if priced else None,
        created_at=now,
        priced_at=now if priced else None,
    )
    row_insert(purchase)
    purchase_lines_create(purchase=purchase, items=request.items, run=run)
    return purchase


def _bad_cart_open(*, purchase: Purchase, trip: ShoppingTrip, store: Store, result, now) -> None:
    settle_by = trip.settle_by or now + timedelta(
        hours=store.preauth_window_hours - store.settle_margin_hours
    )
    problems = len(result.unresolved_keys) + len(result.problems)
    BadCartCase.objects.create(
        purchase=purchase,
        trip=trip,
        store=store,
        problem_lines=problems,
        opened_at=now,
        settle_by=settle_by,
    )
    alert_raise(
        key=f"bad-cart:{store.store_id}:{trip.shopping_trip_id}",
        kind="bad_cart",
        message=f"cart {purchase.purchase_id} waits in the bad-cart queue ({problems} problem(s))",
        context={"purchase_id": purchase.purchase_id, "problems": list(result.problems)},
    )
