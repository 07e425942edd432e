from django.db import models


class DebtRootCause(models.TextChoices):
    DECLINED_ADJUSTMENT = "DECLINED_ADJUSTMENT", "adjustment declined"
    PARTIAL_CAPTURE = "PARTIAL_CAPTURE", "partial approval, shortfall"
    CAPTURE_FAILED = "CAPTURE_FAILED", "capture failed after retries"
    CAPTURE_DECLINED = "CAPTURE_DECLINED", "capture declined by the processor"
    PREAUTH_EXPIRED = "PREAUTH_EXPIRED", "pre-auth expired before settlement"
    SYSTEM_ERROR = "SYSTEM_ERROR", "system error"


class DebtState(models.TextChoices):
    OPEN = "OPEN", "open"
    DISPUTED = "DISPUTED", "disputed"
    RECOVERED = "RECOVERED", "recovered in full"
    WRITTEN_OFF = "WRITTEN_OFF", "written off"
    REVERSED = "REVERSED", "reversed (not owed)"


OUTSTANDING_STATES = frozenset({DebtState.OPEN, DebtState.DISPUTED})
# A written-off debt is still owed at Amazon (no report is sent on write-off), so the shopper may
# still pay it. A disputed debt waits for the dispute's outcome.
PAYABLE_STATES = frozenset({DebtState.OPEN, DebtState.WRITTEN_OFF})


class LedgerEntryKind(models.TextChoices):
    INCURRED = "INCURRED", "incurred"
    RECOVERED = "RECOVERED", "recovered"
    DISPUTE_OPENED = "DISPUTE_OPENED", "dispute opened"
    DISPUTE_RESOLVED = "DISPUTE_RESOLVED", "dispute resolved"
    WRITTEN_OFF = "WRITTEN_OFF", "written off"
    # A written-off amount that the shopper pays after all goes back to outstanding first, then a
    # RECOVERED movement clears it: the write-off stays on record, and so does the recovery.
    WRITE_OFF_REINSTATED = "WRITE_OFF_REINSTATED", "write-off reinstated (paid later)"
    REVERSED = "REVERSED", "reversed"


# Ledger movements that change what is outstanding, with the sign each must have.
POSITIVE_KINDS = (LedgerEntryKind.INCURRED, LedgerEntryKind.WRITE_OFF_REINSTATED)
NEGATIVE_KINDS = (LedgerEntryKind.RECOVERED, LedgerEntryKind.WRITTEN_OFF, LedgerEntryKind.REVERSED)
ZERO_KINDS = (LedgerEntryKind.DISPUTE_OPENED, LedgerEntryKind.DISPUTE_RESOLVED)


class EscalationLevel(models.TextChoices):
    NONE = "NONE", "none"
    NOTICE = "NOTICE", "notice sent"
    RAISED_PREAUTH = "RAISED_PREAUTH", "entry with a raised pre-auth"
    DENIAL = "DENIAL", "entry denied"
    EXTENDED_DENIAL = "EXTENDED_DENIAL", "extended denial (NonpaymentHighRisk)"
    FRAUD_REVIEW = "FRAUD_REVIEW", "fraud investigation"


DENYING_LEVELS = frozenset(
    {EscalationLevel.DENIAL, EscalationLevel.EXTENDED_DENIAL, EscalationLevel.FRAUD_REVIEW}
)
LEVEL_ORDER = [
    EscalationLevel.NONE,
    EscalationLevel.NOTICE,
    EscalationLevel.RAISED_PREAUTH,
    EscalationLevel.DENIAL,
    EscalationLevel.EXTENDED_DENIAL,
    EscalationLevel.FRAUD_REVIEW,
]


class PaymentMethod(models.TextChoices):
    STAFF_PHONE = "STAFF_PHONE", "taken by staff by phone"
    PORTAL_STRIPE = "PORTAL_STRIPE", "shopper portal (Stripe Checkout)"


class WriteOffReason(models.TextChoices):
    UNCOLLECTABLE = "UNCOLLECTABLE", "uncollectable after reminders"
    SMALL_BALANCE = "SMALL_BALANCE", "balance too small to pursue"
    GOODWILL = "GOODWILL", "goodwill gesture"
    SHOPPER_DECEASED_OR_INSOLVENT = "DECEASED_INSOLVENT", "shopper deceased or insolvent"
    FRAUD_LOSS = "FRAUD_LOSS", "confirmed fraud loss"
    OTHER = "OTHER", "other (see note)"


class WriteOffStatus(models.TextChoices):
    PENDING = "PENDING", "awaiting approval"
    APPROVED = "APPROVED", "approved and booked"
    REJECTED = "REJECTED", "rejected"
    CANCELLED = "CANCELLED", "cancelled"


class DisputeSource(models.TextChoices):
    SHOPPER = "SHOPPER", "shopper"
    STAFF = "STAFF", "staff"


class DisputeStatus(models.TextChoices):
    OPEN = "OPEN", "open"
    UPHELD = "UPHELD", "upheld (not owed)"
    REJECTED = "REJECTED", "rejected (owed)"


class DisputeResolutionReason(models.TextChoices):
    ITEMS_NOT_TAKEN = "ITEMS_NOT_TAKEN", "items not taken (cart error)"
    PRICE_ERROR = "PRICE_ERROR", "pricing error"
    DUPLICATE_CHARGE = "DUPLICATE_CHARGE", "charged elsewhere / duplicate"
    NOT_THE_SHOPPER = "NOT_THE_SHOPPER", "not the shopper's trip"
    CART_CONFIRMED = "CART_CONFIRMED", "cart confirmed by review"
    NO_EVIDENCE = "NO_EVIDENCE", "no evidence supplied"
    OTHER = "OTHER", "other (see note)"


class NoticeKind(models.TextChoices):
    BALANCE = "BALANCE", "balance notice"
    REMINDER = "REMINDER", "reminder"
    CLEARED = "CLEARED", "cleared confirmation"


class NoticeStatus(models.TextChoices):
    PENDING = "PENDING", "pending"
    SENT = "SENT", "sent"
    FAILED = "FAILED", "failed"
    BOUNCED = "BOUNCED", "bounced"
    NO_EMAIL = "NO_EMAIL", "no email on file"
    SKIPPED = "SKIPPED", "skipped (nothing owed any more)"


class FraudCaseStatus(models.TextChoices):
    OPEN = "OPEN", "open"
    CLEARED = "CLEARED", "closed: no fraud"
    CONFIRMED = "CONFIRMED", "closed: fraud confirmed"


class DifferenceKind(models.TextChoices):
    NOT_REPORTED = "NOT_REPORTED", "debt never accepted by Amazon"
    REPORT_IN_FLIGHT = "REPORT_IN_FLIGHT", "latest report not yet accepted"
    REPORT_DEAD = "REPORT_DEAD", "latest report gave up (outbox dead)"
    REPORT_REJECTED = "REPORT_REJECTED", "latest report rejected by Amazon"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH", "Amazon was told another outstanding amount"
    UNPAID_WITHOUT_DEBT = (
        "UNPAID_WITHOUT_DEBT",
        "Amazon was told of an unpaid trip we hold no debt for",
    )
    BOOK_MISMATCH = "BOOK_MISMATCH", "Amazon's balance book differs from ours"
