"""Tell Amazon what a debt now amounts to (contract §4), in the debt change's transaction.

For a trip with a debt, Amazon is told total = cart total less what was found not owed, and
settled = what the card collected plus what was paid later. A write-off changes neither, so no
report is sent for it (§4, §9): the shopper stays blocked at Amazon.
"""

from trips.models import PaymentStatusReport
from trips.services.payment_status import payment_status_report

from ..models import Debt

REASON_RECOVERED = "DEBT_RECOVERED"
REASON_REVERSED = "DEBT_REVERSED"


def debt_report_to_amazon(*, debt: Debt, reason: str) -> PaymentStatusReport:
    """Queue a report for ``debt``'s trip. The caller holds the trip's and the debt's locks."""
    return payment_status_report(
        trip=debt.trip, total=debt.amazon_total, settled=debt.amazon_settled, reason=reason
    )
