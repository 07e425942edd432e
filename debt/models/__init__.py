"""The debt app's tables. Import from ``debt.models``; the modules group them by concern."""

from .checks import EntryPolicyBreach, ReconciliationDifference, ReconciliationRun
from .debts import Debt, DebtLedgerEntry, ShopperStanding
from .escalation import EscalationChange, FraudReviewCase
from .notices import DebtNotice
from .policy import DebtPolicy
from .workflows import DebtDispute, DebtPayment, DebtPaymentAllocation, WriteOffRequest

__all__ = [
    "Debt",
    "DebtDispute",
    "DebtLedgerEntry",
    "DebtNotice",
    "DebtPayment",
    "DebtPaymentAllocation",
    "DebtPolicy",
    "EntryPolicyBreach",
    "EscalationChange",
    "FraudReviewCase",
    "ReconciliationDifference",
    "ReconciliationRun",
    "ShopperStanding",
    "WriteOffRequest",
]
