"""Reads for the payments admin and operators: a trip's timeline, parked trips, feedback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from core.audit import audit_trail
from core.clock import now as business_now
from core.models import OutboxMessage
from trips.enums import TripState
from trips.models import GateEvent, PaymentStatusReport, ShoppingTrip

from .models import AmazonCall, AmazonEvent, Charge


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # transition | call | event | report
    title: str
    detail: str


def _trip_detail(entry) -> str:
    """Who moved the trip and why; the cart total when the cart was priced."""
    total = entry.context.get("cart_total") if isinstance(entry.context, dict) else None
    cart = f" (cart total {total})" if total else ""
    return f"{entry.actor}: {entry.reason}{cart}"


def _call_detail(call: AmazonCall) -> str:
    status = call.http_status if call.http_status is not None else call.error or "no answer"
    return f"request {call.request} → {status} {call.response or ''}".strip()


def trip_timeline(*, trip: ShoppingTrip) -> list[TimelineEntry]:
    """Everything that happened to a trip's money, oldest first (PII never stored here)."""
    entries: list[TimelineEntry] = []
    for gate in GateEvent.objects.filter(trip=trip).order_by("id"):
        entries.append(
            TimelineEntry(
                gate.occurred_at,
                "gate",
                f"gate {gate.event_type}/{gate.interaction_type}: "
                f"{'authorized' if gate.authorized else 'denied'}",
                f"pre-auth {gate.preauth_amount or '-'} {gate.currency}",
            )
        )
    for entry in audit_trail(entity="trip", entity_id=trip.audit_id):
        entries.append(
            TimelineEntry(
                entry.business_time,
                "transition",
                f"trip {entry.from_state or '-'} → {entry.to_state or '-'}",
                _trip_detail(entry),
            )
        )
    charge = Charge.objects.filter(trip=trip).first()
    if charge is not None:
        for entry in audit_trail(entity="charge", entity_id=charge.audit_id):
            entries.append(
                TimelineEntry(
                    entry.business_time,
                    "transition",
                    f"charge {entry.action} {entry.from_state or '-'} → {entry.to_state or '-'}",
                    f"{entry.actor}: {entry.reason}",
                )
            )
    for call in AmazonCall.objects.filter(trip=trip).order_by("id"):
        entries.append(
            TimelineEntry(
                call.business_time,
                "call",
                f"{call.operation} #{call.attempt}: {call.outcome}",
                _call_detail(call),
            )
        )
    for event in AmazonEvent.objects.filter(trip_ref=trip.shopping_trip_id).order_by("id"):
        entries.append(
            TimelineEntry(
                event.event_time or event.received_at,
                "event",
                f"{event.event_type} ({event.status})",
                event.note,
            )
        )
    for report in PaymentStatusReport.objects.filter(trip=trip).order_by("sequence"):
        entries.append(
            TimelineEntry(
                report.created_at,
                "report",
                f"report #{report.sequence}: {report.settled_amount}/{report.total_amount} "
                f"{report.currency}",
                f"{report.reason}: {report.outcome or 'not delivered yet'}",
            )
        )
    return sorted(entries, key=lambda item: item.at)


def trip_outbox_messages(*, trip: ShoppingTrip) -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(
        trip_ref=trip.shopping_trip_id, store_ref=trip.store.store_id
    ).order_by("id")


def trips_parked() -> QuerySet[ShoppingTrip]:
    return ShoppingTrip.objects.filter(state=TripState.NEEDS_REVIEW).order_by("state_changed_at")


def feedback_undelivered() -> QuerySet[PaymentStatusReport]:
    """Reports Amazon has not answered yet, oldest first."""
    return (
        PaymentStatusReport.objects.filter(outcome="")
        .select_related("trip", "trip__store")
        .order_by("created_at")
    )


def feedback_age_seconds(report: PaymentStatusReport) -> float:
    """Business time since the report was written (its ``paymentStatusTime``)."""
    return business_now().timestamp() - report.status_time_ms / 1000


def report_outbox_message(report: PaymentStatusReport) -> OutboxMessage | None:
    return OutboxMessage.objects.filter(key=report.outbox_key).first()
