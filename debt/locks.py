"""Row locks for debts. Lock order across the product: trip → charge → refund → debt → standing."""

from .models import Debt, ShopperStanding


def debt_qs_for_update():
    return Debt.objects.select_for_update().order_by("pk")


def standing_qs_for_update():
    return ShopperStanding.objects.select_for_update().order_by("pk")
