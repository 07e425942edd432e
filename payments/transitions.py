"""The charge's allowed moves, as data, and the one function that changes a charge's state.

    ADJUSTING ─approved─▶ CAPTURING ─200─▶ CAPTURE_INITIATED ─CaptureApproved─▶ CAPTURED
        │  ╲                 │   ╲                          ╲─CaptureDeclined─▶ CAPTURE_DECLINED
        │   ╲─pending─▶ ADJUST_PENDING (polls)   ╲─400─▶ CAPTURE_FAILED
        ╲─declined─▶ SEARCHING (lower amounts) ─▶ CAPTURING | CANCELLING
    CANCELLING ─200─▶ CANCELLED                 any pre-capture state ─expired─▶ EXPIRED

A captured charge is never cancelled, a charge is captured at most once (``capture:<pk>``), and
the capture amount never exceeds the approved amount (a database check constraint).
"""

from django.db import connection

from core.audit import audit_record
from core.clock import now as business_now
from core.errors import InvalidTransition
from core.sql import row_update

from .enums import ChargeState as S
from .locks import lock_held, lock_token
from .models import Charge

TRANSITIONS: dict[str, frozenset[str]] = {
    S.ADJUSTING: frozenset({S.ADJUST_PENDING, S.SEARCHING, S.CAPTURING, S.CANCELLING, S.EXPIRED}),
    S.ADJUST_PENDING: frozenset({S.SEARCHING, S.CAPTURING, S.CANCELLING, S.EXPIRED}),
    S.SEARCHING: frozenset({S.ADJUST_PENDING, S.CAPTURING, S.CANCELLING, S.EXPIRED}),
    # A Capture* event may overtake the answer to our capture call.
    S.CAPTURING: frozenset({S.CAPTURE_INITIATED, S.CAPTURE_FAILED, S.EXPIRED}),
    S.CAPTURE_INITIATED: frozenset({S.CAPTURED, S.CAPTURE_DECLINED}),
    S.CANCELLING: frozenset({S.CANCELLED, S.EXPIRED}),
    S.CAPTURED: frozenset(),
    S.CAPTURE_DECLINED: frozenset(),
    S.CAPTURE_FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}

# Fields a transition may set together with the state.
UPDATABLE_FIELDS = frozenset(
    {
        "requested_amount",
        "approved_amount",
        "adjust_seq",
        "pending_polls",
        "search_low",
        "search_high",
        "search_attempts",
        "capture_amount",
        "capture_requested_at",
        "capture_initiated_at",
        "outcome_at",
        "decline_reason",
        "release_confirmed_at",
        "flagged_at",
        "flag_reason",
    }
)


def transition_allowed(from_state: str, to_state: str) -> bool:
    return to_state in TRANSITIONS.get(from_state, frozenset())


def charge_transition(
    *,
    charge: Charge,
    to_state: str,
    actor: str,
    reason: str = "",
    context: dict | None = None,
    updates: dict | None = None,
) -> Charge:
    """Lock the charge, check the move against the table, save with ``update_fields``, audit.

    The caller holds the trip's lock (lock order trip → charge) in its transaction, normally via
    ``trip_and_charge_for_update``, which marks the charge as locked in this transaction; any
    other instance is locked here and refused if stale (its state differs from the row's). The
    instance is updated in place.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("charge_transition must run inside the caller's locked transaction")
    updates = updates or {}
    unknown = set(updates) - UPDATABLE_FIELDS
    if unknown:
        raise ValueError(f"fields not settable by a transition: {sorted(unknown)}")
    if not lock_held(getattr(charge, "row_locked", None)):
        locked_state = (
            Charge.objects.select_for_update(no_key=True)
            .values_list("state", flat=True)
            .get(pk=charge.pk)
        )
        if locked_state != charge.state:
            raise InvalidTransition("charge (stale instance)", charge.state, to_state)
        charge.row_locked = lock_token()
    from_state = charge.state
    if not transition_allowed(from_state, to_state):
        raise InvalidTransition("charge", from_state, to_state)
    charge.state = to_state
    charge.state_changed_at = business_now()
    for field, value in updates.items():
        setattr(charge, field, value)
    row_update(charge, ["state", "state_changed_at", *updates])  # updated_at: auto_now
    audit_record(
        entity="charge",
        entity_id=charge.audit_id,
        action="transition",
        from_state=from_state,
        to_state=to_state,
        actor=actor,
        reason=reason,
        context={
            "trip_id": charge.trip_id,
            **(context or {}),
            **{key: "" if value is None else str(value) for key, value in updates.items()},
        },
    )
    return charge
