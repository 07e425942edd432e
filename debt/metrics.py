"""Reads for the bad-debt dashboard and its CSV export (figures per currency, never summed across).

- aging of what is still owed (0-7, 8-30, 31-90, 90+ days since incurred);
- for debts of trips in a period: totals by root cause and by store, recovery rate (recovered /
  shortfall), write-offs, reversals, bad debt as a share of revenue (revenue = the cart totals
  of the period's trips), time to resolution;
- entry denial: time from a debt to the shopper's first denied entry, and entries let in against
  policy.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Min, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from trips.models import GateEvent, ShoppingTrip

from .enums import DebtState, LedgerEntryKind
from .models import Debt, DebtLedgerEntry, EntryPolicyBreach

ZERO = Decimal("0")
AGING_BUCKETS = (("0-7", 0, 7), ("8-30", 8, 30), ("31-90", 31, 90), ("90+", 91, None))
_MONEY = DecimalField(max_digits=14, decimal_places=2)


@dataclass
class Period:
    start: datetime
    end: datetime


@dataclass
class Dashboard:
    period: Period
    aging: list[dict] = field(default_factory=list)
    by_root_cause: list[dict] = field(default_factory=list)
    by_store: list[dict] = field(default_factory=list)
    by_currency: list[dict] = field(default_factory=list)
    resolution: list[dict] = field(default_factory=list)
    denial: list[dict] = field(default_factory=list)
    write_offs: list[dict] = field(default_factory=list)
    breaches: int = 0


def _sum(expression):
    return Coalesce(Sum(expression, output_field=_MONEY), Value(ZERO), output_field=_MONEY)


def aging(*, now: datetime) -> list[dict]:
    rows = []
    owed = Debt.objects.filter(
        state__in=[DebtState.OPEN, DebtState.DISPUTED], outstanding_amount__gt=0
    )
    for label, low, high in AGING_BUCKETS:
        bucket = owed.filter(incurred_at__lte=now - timedelta(days=low))
        if high is not None:
            bucket = bucket.filter(incurred_at__gt=now - timedelta(days=high + 1))
        for row in (
            bucket.values("currency")
            .annotate(debts=Count("pk"), amount=_sum("outstanding_amount"))
            .order_by("currency")
        ):
            rows.append({"bucket": label, **row})
    return rows


def _period_debts(period: Period):
    return Debt.objects.filter(trip__created_at__gte=period.start, trip__created_at__lt=period.end)


def _totals(queryset, *keys) -> list[dict]:
    return list(
        queryset.values(*keys, "currency")
        .annotate(
            debts=Count("pk"),
            shortfall=_sum(F("cart_total") - F("settled_amount")),
            outstanding=_sum("outstanding_amount"),
            recovered=_sum("recovered_amount"),
            written_off=_sum("written_off_amount"),
            reversed=_sum("reversed_amount"),
        )
        .order_by(*keys, "currency")
    )


def _with_rates(rows: list[dict], revenue: dict[str, Decimal] | None = None) -> list[dict]:
    for row in rows:
        owed = row["shortfall"] - row["reversed"]
        row["recovery_rate"] = (
            (row["recovered"] / owed).quantize(Decimal("0.0001")) if owed else None
        )
        if revenue is not None:
            total = revenue.get(row["currency"], ZERO)
            row["revenue"] = total
            row["bad_debt_share"] = (
                (row["shortfall"] / total).quantize(Decimal("0.0001")) if total else None
            )
            net = row["outstanding"] + row["written_off"]
            row["net_bad_debt_share"] = (net / total).quantize(Decimal("0.0001")) if total else None
    return rows


def revenue_by_currency(period: Period) -> dict[str, Decimal]:
    rows = (
        ShoppingTrip.objects.filter(
            created_at__gte=period.start, created_at__lt=period.end, cart_total__isnull=False
        )
        .values("currency")
        .annotate(total=_sum("cart_total"))
    )
    return {row["currency"]: row["total"] for row in rows}


def _seconds(values) -> dict:
    if not values:
        return {"count": 0, "mean_hours": None, "median_hours": None}
    hours = [value.total_seconds() / 3600 for value in values]
    return {
        "count": len(hours),
        "mean_hours": round(statistics.fmean(hours), 2),
        "median_hours": round(statistics.median(hours), 2),
    }


def time_to_resolution(period: Period) -> list[dict]:
    rows = []
    resolved = _period_debts(period).filter(resolved_at__isnull=False)
    for state in (DebtState.RECOVERED, DebtState.WRITTEN_OFF, DebtState.REVERSED):
        spans = [
            resolved_at - incurred_at
            for resolved_at, incurred_at in resolved.filter(state=state).values_list(
                "resolved_at", "incurred_at"
            )
        ]
        rows.append({"state": state.value, **_seconds(spans)})
    return rows


def time_to_first_denial(period: Period) -> list[dict]:
    first_denial = (
        GateEvent.objects.filter(
            shopper=OuterRef("shopper"), authorized=False, occurred_at__gte=OuterRef("incurred_at")
        )
        .order_by()
        .values("shopper")
        .annotate(first=Min("occurred_at"))
        .values("first")
    )
    debts = (
        _period_debts(period)
        .filter(shopper__isnull=False)
        .annotate(first_denied_at=Subquery(first_denial))
    )
    rows = []
    for currency in sorted(set(debts.values_list("currency", flat=True))):
        pairs = list(debts.filter(currency=currency).values_list("incurred_at", "first_denied_at"))
        spans = [denied - incurred for incurred, denied in pairs if denied is not None]
        rows.append(
            {
                "currency": currency,
                "debts": len(pairs),
                "not_yet_denied": sum(1 for _, denied in pairs if denied is None),
                **_seconds(spans),
            }
        )
    return rows


def write_offs_in(period: Period) -> list[dict]:
    return list(
        DebtLedgerEntry.objects.filter(
            kind=LedgerEntryKind.WRITTEN_OFF,
            business_time__gte=period.start,
            business_time__lt=period.end,
        )
        .values("currency")
        .annotate(entries=Count("pk"), amount=_sum(-F("amount")))
        .order_by("currency")
    )


def dashboard(*, period: Period, now: datetime) -> Dashboard:
    debts = _period_debts(period)
    revenue = revenue_by_currency(period)
    return Dashboard(
        period=period,
        aging=aging(now=now),
        by_root_cause=_with_rates(_totals(debts, "root_cause")),
        by_store=_with_rates(_totals(debts, "store__store_id")),
        by_currency=_with_rates(_totals(debts), revenue),
        resolution=time_to_resolution(period),
        denial=time_to_first_denial(period),
        write_offs=write_offs_in(period),
        breaches=EntryPolicyBreach.objects.filter(
            occurred_at__gte=period.start, occurred_at__lt=period.end
        ).count(),
    )


def dashboard_csv_rows(board: Dashboard) -> list[list]:
    """Flat rows for the CSV export: section, key, currency, then named figures."""
    rows = [["section", "key", "currency", "figure", "value"]]

    def add(section, key, currency, figures: dict):
        for name, value in figures.items():
            rows.append([section, key, currency, name, "" if value is None else str(value)])

    for row in board.aging:
        add(
            "aging",
            row["bucket"],
            row["currency"],
            {"debts": row["debts"], "amount": row["amount"]},
        )
    for section, key_name, source in (
        ("root_cause", "root_cause", board.by_root_cause),
        ("store", "store__store_id", board.by_store),
        ("total", None, board.by_currency),
    ):
        for row in source:
            figures = {k: v for k, v in row.items() if k not in (key_name, "currency")}
            add(section, row[key_name] if key_name else "all", row["currency"], figures)
    for row in board.resolution:
        add("time_to_resolution", row["state"], "", {k: v for k, v in row.items() if k != "state"})
    for row in board.denial:
        add(
            "time_to_first_denial",
            "all",
            row["currency"],
            {k: v for k, v in row.items() if k != "currency"},
        )
    for row in board.write_offs:
        add(
            "write_offs",
            "approved",
            row["currency"],
            {"entries": row["entries"], "amount": row["amount"]},
        )
    add("entry_breaches", "all", "", {"count": board.breaches})
    return rows
