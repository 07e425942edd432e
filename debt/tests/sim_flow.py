"""Drive trips through the simulator the way the product does, for the debt tests.

``sim_trip`` opens a trip at the simulator's gate (so Amazon's side knows it) and mirrors it in
our database; ``deliver_reports`` delivers the queued Report Payment Status messages through the
outbox with the handler the payments app registers (issue 5). If that handler is not registered
in this process, a minimal one that calls the same client is registered instead, so these tests
exercise the real wire either way.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from core import clock
from core.models import OutboxMessage, OutboxStatus
from core.outbox import OutboxHandler, outbox_deliver, outbox_handler_get, outbox_handler_register
from jwo_client.payment_messages import PaymentStatusReport as ReportMessage
from jwo_client.payment_service import PaymentServiceClient
from tests.factories import make_trip
from trips.enums import TripState
from trips.models import PaymentStatusReport
from trips.services.payment_status import REPORT_PAYMENT_STATUS


def sim_trip(sim, store, shopper, *, total: str = "23.47"):
    """A trip that entered through the simulator's gate, priced at ``total``, now settling."""
    answer = sim.gate(store.store_id, shopper.identity_id)
    assert answer["shopperAuthorized"], answer
    return make_trip(
        store=store,
        shopper=shopper,
        state=TripState.SETTLING,
        cart_total=Decimal(total),
        shopping_trip_id=answer["shoppingTripId"],
    )


def amazon_recommends_entry(sim, store, shopper) -> tuple[bool, list[str]]:
    """What Amazon's side recommends for this shopper's next entry (a real gate event)."""
    answer = sim.gate(store.store_id, shopper.identity_id)
    trip = sim.trip(answer["shoppingTripId"])
    advice = trip["gate"]["recommendation"]
    return advice["shopperAuthorized"], advice.get("shopperRisks", [])


def _fallback_send(message: OutboxMessage) -> dict:
    p = message.payload
    with PaymentServiceClient(
        base_url=settings.JWO_PAYMENT_BASE_URL, region=settings.JWO_AWS_REGION
    ) as client:
        result = client.report_payment_status(
            ReportMessage(
                p["storeId"],
                p["shoppingTripId"],
                Decimal(p["total"]),
                Decimal(p["settled"]),
                p["currency"],
                int(p["paymentStatusTime"]),
            )
        )
    return {"status": str(result.status)}


def _fallback_success(message: OutboxMessage, result: dict) -> None:
    PaymentStatusReport.objects.filter(pk=message.payload["report_id"]).update(
        outcome=result["status"]
    )


def _ensure_report_handler() -> None:
    try:
        outbox_handler_get(REPORT_PAYMENT_STATUS)
    except LookupError:
        outbox_handler_register(
            OutboxHandler(
                kind=REPORT_PAYMENT_STATUS, send=_fallback_send, on_success=_fallback_success
            )
        )


def deliver_reports() -> list[str]:
    _ensure_report_handler()
    due = OutboxMessage.objects.filter(
        kind=REPORT_PAYMENT_STATUS, status=OutboxStatus.PENDING, next_attempt_at__lte=clock.now()
    ).order_by("pk")
    return [outbox_deliver(message_id=pk) for pk in due.values_list("pk", flat=True)]
