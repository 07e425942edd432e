from django.db import models


class ChargeState(models.TextChoices):
    ADJUSTING = "ADJUSTING", "adjusting to the cart total"
    ADJUST_PENDING = "ADJUST_PENDING", "adjust pending, polling Amazon"
    SEARCHING = "SEARCHING", "declined, searching for the largest approvable amount"
    CAPTURING = "CAPTURING", "capture requested"
    CAPTURE_INITIATED = "CAPTURE_INITIATED", "capture initiated, awaiting its outcome"
    CAPTURED = "CAPTURED", "captured (CaptureApproved)"
    CAPTURE_DECLINED = "CAPTURE_DECLINED", "capture declined (CaptureDeclined)"
    CAPTURE_FAILED = "CAPTURE_FAILED", "capture refused, nothing collected"
    CANCELLING = "CANCELLING", "release of the pre-auth requested"
    CANCELLED = "CANCELLED", "pre-auth released"
    EXPIRED = "EXPIRED", "pre-auth expired"


# No further call to Amazon for these (a CaptureApproved may still confirm CAPTURE_INITIATED).
TERMINAL_CHARGE_STATES = frozenset(
    {
        ChargeState.CAPTURED,
        ChargeState.CAPTURE_DECLINED,
        ChargeState.CAPTURE_FAILED,
        ChargeState.CANCELLED,
        ChargeState.EXPIRED,
    }
)
# Before any capture or cancel was requested: the adjust phase.
ADJUST_STATES = frozenset(
    {ChargeState.ADJUSTING, ChargeState.ADJUST_PENDING, ChargeState.SEARCHING}
)
# States in which an outbound call of ours is (or should be) on its way.
WORKING_STATES = ADJUST_STATES | {ChargeState.CAPTURING, ChargeState.CANCELLING}


class AdjustPurpose(models.TextChoices):
    TOTAL = "TOTAL", "the cart total"
    SEARCH = "SEARCH", "a lower amount after a decline"
    CONFIRM = "CONFIRM", "re-adjust to the best approved amount before capture"


class DeclineSearchMode(models.TextChoices):
    BISECT = "BISECT", "bisection between the best approval and the lowest decline"
    STEPS = "STEPS", "fixed fractions of the cart total, largest first"


class CallOutcome(models.TextChoices):
    OK = "OK", "answered"
    RETRYABLE = "RETRYABLE", "retryable failure"
    SKIPPED = "SKIPPED", "not sent (paused, circuit open or rate limited)"
    EXPIRED = "EXPIRED", "ShoppingTripExpiredException"
    UNKNOWN_TRIP = "UNKNOWN_TRIP", "UnknownShoppingTrip"
    ACCESS_DENIED = "ACCESS_DENIED", "403 access denied"
    PERMANENT = "PERMANENT", "permanent 4xx"


class EventStatus(models.TextChoices):
    RECEIVED = "RECEIVED", "stored, waiting to be processed"
    PROCESSED = "PROCESSED", "applied"
    IGNORED = "IGNORED", "stored, no effect (informational, stale or not ours)"
    CONFLICT = "CONFLICT", "conflicts with a recorded outcome: flagged for review"
    QUARANTINED = "QUARANTINED", "source not on the allow-list: held for staff"
    TEST = "TEST", "test event: stored, no state change"


OPEN_EVENT_STATUSES = frozenset({EventStatus.RECEIVED})
