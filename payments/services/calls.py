"""Queue the calls to Amazon in the caller's transaction (outbox rows), keyed from our rows.

adjust:<charge>:<seq>            one adjust request (``seq`` numbers our adjust amounts)
adjust:<charge>:<seq>:poll<k>    the k-th poll of a PENDING adjust
capture:<charge>                 the one capture of a charge
cancel:<charge>                  the one release of a charge
txd:<charge>                     transactional data for the receipt
<any of the above>:probe<n>      a re-drive by the janitor or the deadline watcher
"""

from datetime import datetime, timedelta

from core.clock import now as business_now
from core.outbox import outbox_enqueue
from trips.models import ShoppingTrip

from ..models import Charge

ADJUST = "payments.adjust"
CAPTURE = "payments.capture"
CANCEL = "payments.cancel"
TRANSACTIONAL_DATA = "payments.transactional_data"
CHARGE_CALL_KINDS = (ADJUST, CAPTURE, CANCEL)
TRANSACTIONAL_DATA_WINDOW = timedelta(hours=48)


def _base_payload(trip: ShoppingTrip, charge: Charge) -> dict:
    return {
        "charge_pk": charge.pk,
        "trip_pk": trip.pk,
        "storeId": trip.store.store_id,
        "shoppingTripId": trip.shopping_trip_id,
        "currency": charge.currency,
        "deadline": trip.preauth_deadline.isoformat() if trip.preauth_deadline else None,
    }


def _enqueue(trip, *, kind, key, payload, available_at=None):
    return outbox_enqueue(
        kind=kind,
        key=key,
        payload=payload,
        store_ref=trip.store.store_id,
        trip_ref=trip.shopping_trip_id,
        available_at=available_at,
    )


def enqueue_adjust(
    *,
    trip: ShoppingTrip,
    charge: Charge,
    purpose: str,
    poll: int = 0,
    available_at: datetime | None = None,
    probe: int = 0,
):
    """Adjust to ``charge.requested_amount`` (the current request, number ``adjust_seq``)."""
    key = f"adjust:{charge.pk}:{charge.adjust_seq}"
    if poll:
        key += f":poll{poll}"
    if probe:
        key += f":probe{probe}"
    payload = {
        **_base_payload(trip, charge),
        "seq": charge.adjust_seq,
        "amount": str(charge.requested_amount),
        "purpose": purpose,
        "poll": poll,
    }
    return _enqueue(trip, kind=ADJUST, key=key, payload=payload, available_at=available_at)


def enqueue_capture(*, trip: ShoppingTrip, charge: Charge, probe: int = 0):
    key = f"capture:{charge.pk}" + (f":probe{probe}" if probe else "")
    payload = {**_base_payload(trip, charge), "amount": str(charge.capture_amount)}
    return _enqueue(trip, kind=CAPTURE, key=key, payload=payload)


def enqueue_cancel(*, trip: ShoppingTrip, charge: Charge, probe: int = 0):
    key = f"cancel:{charge.pk}" + (f":probe{probe}" if probe else "")
    return _enqueue(trip, kind=CANCEL, key=key, payload=_base_payload(trip, charge))


def enqueue_transactional_data(*, trip: ShoppingTrip, charge: Charge):
    """Receipt data (contract §3.5): retried 30 s → 1 h while 'not yet available', for 48 h."""
    until = business_now() + TRANSACTIONAL_DATA_WINDOW
    payload = {**_base_payload(trip, charge), "until": until.isoformat()}
    return _enqueue(trip, kind=TRANSACTIONAL_DATA, key=f"txd:{charge.pk}", payload=payload)
