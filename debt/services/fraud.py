"""The fraud investigation queue: close a case (fraud confirmed, or cleared) and re-assess."""

from django.db import transaction

from core.clock import now as business_now

from ..enums import FraudCaseStatus
from ..models import FraudReviewCase
from ..transitions import fraud_case_transition
from .standing import standing_recalculate


def fraud_case_close(
    *, case_id: int, confirmed: bool, actor: str, note: str = ""
) -> FraudReviewCase:
    """Confirmed: the shopper stays at FRAUD_REVIEW. Cleared: the level follows the debts again,
    and the same history does not reopen a case within the pattern window."""
    with transaction.atomic():
        case = fraud_case_transition(
            case_pk=case_id,
            to_status=FraudCaseStatus.CONFIRMED if confirmed else FraudCaseStatus.CLEARED,
            actor=actor,
            closed_by=actor,
            closed_at=business_now(),
            note=note[:500],
        )
        standing_recalculate(identity_id=case.identity_id, currency=case.currency, actor=actor)
    return case
