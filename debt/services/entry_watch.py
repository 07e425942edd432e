"""Watch the gate from the debt side: shoppers let in while owing, against the store's policy.

Reads the gate's entries from ``trips.GateEvent`` (written by the gate with every decision,
carrying the shopper and the pre-auth taken). An entry is a breach when, at its time, the shopper
had a debt that blocks entry under the debt policy, the store denies entry with debt
(``deny_entry_with_debt`` and a balance strategy other than NONE), and the entry was not a
conditional one (a pre-auth raised above the store's, the gate's way of letting a small balance in).
Each breach is recorded once (unique per gate event) and raises an alert.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Sum

from core.alerts import alert_raise
from core.clock import now as business_now
from trips.enums import BalanceStrategy
from trips.models import GateEvent

from ..enums import DebtState
from ..models import Debt, EntryPolicyBreach
from .policy import debt_policy_for

DEFAULT_LOOKBACK = timedelta(days=2)


def _blocking_at(event_time, currency: str) -> Q:
    """Debts that blocked entry at ``event_time``, judged by their dates and the policy."""
    policy = debt_policy_for(currency=currency)
    open_then = Q(resolved_at__isnull=True) | Q(resolved_at__gt=event_time)
    if policy.dispute_pauses_block:
        open_then &= ~Q(state=DebtState.DISPUTED)
    blocking = open_then
    if policy.written_off_blocks_entry:
        blocking |= Q(state=DebtState.WRITTEN_OFF)
    return (
        blocking & Q(incurred_at__lt=event_time, currency=currency) & ~Q(state=DebtState.REVERSED)
    )


def entry_breaches_detect(*, lookback: timedelta = DEFAULT_LOOKBACK) -> dict[str, int]:
    since = business_now() - lookback
    candidates = (
        GateEvent.objects.filter(
            authorized=True,
            occurred_at__gte=since,
            store__deny_entry_with_debt=True,
        )
        .exclude(store__balance_strategy=BalanceStrategy.NONE)
        .filter(Q(preauth_amount__isnull=True) | Q(preauth_amount__lte=F("store__preauth_amount")))
        .annotate(
            owed=Exists(
                Debt.objects.filter(
                    shopper=OuterRef("shopper"), incurred_at__lt=OuterRef("occurred_at")
                )
                .filter(
                    Q(resolved_at__isnull=True)
                    | Q(resolved_at__gt=OuterRef("occurred_at"))
                    | Q(state=DebtState.WRITTEN_OFF)
                )
                .exclude(state=DebtState.REVERSED)
            ),
            already=Exists(
                EntryPolicyBreach.objects.filter(gate_event_ref=OuterRef("gate_event_id"))
            ),
        )
        .filter(owed=True, already=False)
        .select_related("store", "shopper")
    )
    found = 0
    for event in candidates:
        blocking = Debt.objects.filter(
            _blocking_at(event.occurred_at, event.currency), shopper=event.shopper
        ).aggregate(
            # What was owed then: the shortfall less what was later found not owed.
            total=Sum(F("cart_total") - F("settled_amount") - F("reversed_amount")),
            debts=Count("pk"),
        )
        if not blocking["debts"] or not blocking["total"]:
            continue
        try:
            with transaction.atomic():
                breach = EntryPolicyBreach.objects.create(
                    gate_event_ref=event.gate_event_id,
                    store=event.store,
                    identity_id=event.shopper.identity_id,
                    currency=event.currency,
                    occurred_at=event.occurred_at,
                    blocking_amount=blocking["total"],
                    debts=blocking["debts"],
                    detected_at=business_now(),
                )
        except IntegrityError:
            continue
        found += 1
        alert_raise(
            key=f"debt-entry-breach:{breach.pk}",
            kind="debt_entry_breach",
            message=(
                f"a shopper owing {breach.blocking_amount} {breach.currency} was let in at "
                f"{event.store.store_id} against the debt policy"
            ),
            context={"breach": breach.pk, "gate_event": event.gate_event_id},
        )
    return {"breaches": found}
