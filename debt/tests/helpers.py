"""Test helpers for the debt app: a shortfall recorded the way the payment lifecycle records it."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import Group, User
from django.db import transaction

from core.roles import roles_sync
from debt.enums import DebtRootCause
from debt.services.debts import debt_incur
from tests.factories import make_shopper, make_trip
from trips.enums import TripState
from trips.services.payment_status import payment_status_report
from trips.transitions import trip_transition

ROOT_CAUSES = list(DebtRootCause.values)


def record_shortfall(
    *,
    total: str | Decimal = "23.47",
    settled: str | Decimal = "0",
    root_cause: str = DebtRootCause.DECLINED_ADJUSTMENT,
    shopper=None,
    store=None,
    trip=None,
    card_brand: str = "VISA",
    card_tail: str = "1234",
):
    """As issue 5 does: in one transaction, the trip ends SHORTFALL (EXPIRED for an expired
    pre-auth), the debt is incurred, and Amazon is told total/settled. Returns the debt."""
    total, settled = Decimal(str(total)), Decimal(str(settled))
    trip = trip or make_trip(
        store=store, shopper=shopper or make_shopper(), state=TripState.SETTLING, cart_total=total
    )
    end_state = (
        TripState.EXPIRED if root_cause == DebtRootCause.PREAUTH_EXPIRED else TripState.SHORTFALL
    )
    with transaction.atomic():
        trip = trip_transition(
            trip_pk=trip.pk,
            to_state=end_state,
            actor="system:payments",
            updates={"settled_amount": settled},
        )
        debt = debt_incur(
            trip=trip,
            cart_total=total,
            settled_amount=settled,
            root_cause=root_cause,
            actor="system:payments",
            card_brand=card_brand,
            card_tail=card_tail,
        )
        payment_status_report(trip=trip, total=total, settled=settled, reason=root_cause)
    return debt


def make_staff(username: str, *roles: str, superuser: bool = False) -> User:
    roles_sync()
    user = User.objects.create_user(
        username=username, password="pw-for-tests-only", is_staff=True, is_superuser=superuser
    )
    for role in roles:
        user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # fresh, without a cached permission set
