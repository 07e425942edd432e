"""Reads for debts. ``shopper_standing`` is the gate's single indexed lookup."""

from .models import Debt, ShopperStanding


def shopper_standing(*, identity_id: str, currency: str) -> ShopperStanding | None:
    return ShopperStanding.objects.filter(identity_id=identity_id, currency=currency).first()


def debt_for_trip(*, trip) -> Debt | None:
    return Debt.objects.filter(trip=trip).first()
