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


class LedgerEntryKind(models.TextChoices):
    INCURRED = "INCURRED", "incurred"
    RECOVERED = "RECOVERED", "recovered"
    DISPUTE_OPENED = "DISPUTE_OPENED", "dispute opened"
    DISPUTE_RESOLVED = "DISPUTE_RESOLVED", "dispute resolved"
    WRITTEN_OFF = "WRITTEN_OFF", "written off"
    REVERSED = "REVERSED", "reversed"


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
