"""Admin for debts, their ledger, payments and shoppers' standing: read-only timelines, with links
to the staff pages (phone payment, write-off request, dispute) and the metrics."""

from __future__ import annotations

import csv

from django.contrib import admin
from django.http import HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.admin import ReadOnlyAdmin
from core.clock import now as business_now

from ..enums import PAYABLE_STATES, DebtState
from ..models import Debt, DebtLedgerEntry, DebtPayment, DebtPaymentAllocation, ShopperStanding
from . import views


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class LedgerInline(ReadOnlyInline):
    model = DebtLedgerEntry
    fields = ("business_time", "kind", "amount", "currency", "actor", "reason", "reference")
    readonly_fields = fields
    ordering = ("pk",)


class AllocationInline(ReadOnlyInline):
    model = DebtPaymentAllocation
    fields = ("payment", "debt", "amount", "cleared_debt")
    readonly_fields = fields


def _payoff_url(identity_id: str, currency: str) -> str:
    return reverse("admin:debt_payoff", args=[identity_id, currency])


@admin.register(Debt)
class DebtAdmin(ReadOnlyAdmin):
    change_list_template = "debt/admin/debt_change_list.html"
    list_display = (
        "id",
        "trip",
        "store",
        "shopper_identity_id",
        "state",
        "root_cause",
        "cart_total",
        "outstanding_amount",
        "written_off_amount",
        "currency",
        "incurred_at",
        "age_days",
    )
    list_filter = ("state", "root_cause", "currency", "store")
    search_fields = ("shopper_identity_id", "trip__shopping_trip_id")
    list_select_related = ("trip", "store")
    date_hierarchy = "incurred_at"
    readonly_fields = ("staff_actions", "amazon_figures")
    inlines = (LedgerInline, AllocationInline)
    actions = ("export_csv",)

    @admin.display(description="age (days)")
    def age_days(self, debt):
        return (business_now() - debt.incurred_at).days

    @admin.display(description="what Amazon was told")
    def amazon_figures(self, debt):
        return f"total {debt.amazon_total} / settled {debt.amazon_settled} {debt.currency}"

    @admin.display(description="actions")
    def staff_actions(self, debt):
        links = []
        if debt.state in PAYABLE_STATES and debt.shopper_identity_id:
            url = _payoff_url(debt.shopper_identity_id, debt.currency) + f"?debt={debt.pk}"
            links.append((url, "Record a phone payment"))
        if debt.state == DebtState.OPEN:
            links.append((reverse("admin:debt_write_off", args=[debt.pk]), "Request a write-off"))
            links.append((reverse("admin:debt_dispute", args=[debt.pk]), "Open a dispute"))
        for dispute in debt.disputes.filter(status="OPEN"):
            links.append(
                (reverse("admin:debt_dispute_resolve", args=[dispute.pk]), "Resolve the dispute")
            )
        return format_html_join(" · ", '<a href="{}">{}</a>', links) or "-"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "payoff/<str:identity_id>/<str:currency>/",
                wrap(lambda request, **kw: views.payoff_view(self, request, **kw)),
                name="debt_payoff",
            ),
            path(
                "<int:debt_id>/write-off/",
                wrap(lambda request, **kw: views.write_off_request_view(self, request, **kw)),
                name="debt_write_off",
            ),
            path(
                "<int:debt_id>/dispute/",
                wrap(lambda request, **kw: views.dispute_open_view(self, request, **kw)),
                name="debt_dispute",
            ),
            path(
                "disputes/<int:dispute_id>/resolve/",
                wrap(lambda request, **kw: views.dispute_resolve_view(self, request, **kw)),
                name="debt_dispute_resolve",
            ),
            path(
                "metrics/",
                wrap(lambda request: views.metrics_view(self, request)),
                name="debt_metrics",
            ),
            *super().get_urls(),
        ]

    @admin.action(description="Export the selected debts as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="debts.csv"'
        writer = csv.writer(response)
        fields = [
            "id",
            "store",
            "shopping_trip_id",
            "shopper_identity_id",
            "state",
            "root_cause",
            "currency",
            "cart_total",
            "settled_amount",
            "outstanding_amount",
            "recovered_amount",
            "written_off_amount",
            "reversed_amount",
            "incurred_at",
            "resolved_at",
        ]
        writer.writerow(fields)
        for debt in queryset.select_related("store", "trip").order_by("pk"):
            writer.writerow(
                [
                    debt.pk,
                    debt.store.store_id,
                    debt.trip.shopping_trip_id,
                    debt.shopper_identity_id,
                    debt.state,
                    debt.root_cause,
                    debt.currency,
                    debt.cart_total,
                    debt.settled_amount,
                    debt.outstanding_amount,
                    debt.recovered_amount,
                    debt.written_off_amount,
                    debt.reversed_amount,
                    debt.incurred_at.isoformat(),
                    debt.resolved_at.isoformat() if debt.resolved_at else "",
                ]
            )
        return response


@admin.register(DebtPayment)
class DebtPaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "received_at",
        "method",
        "identity_id",
        "amount",
        "applied_amount",
        "unapplied_amount",
        "currency",
        "external_reference",
        "actor",
    )
    list_filter = ("method", "currency")
    search_fields = ("identity_id", "external_reference", "idempotency_key")
    inlines = (AllocationInline,)


@admin.register(ShopperStanding)
class ShopperStandingAdmin(ReadOnlyAdmin):
    list_display = (
        "identity_id",
        "currency",
        "outstanding_amount",
        "blocking_amount",
        "disputed_amount",
        "written_off_amount",
        "unpaid_trips",
        "oldest_unpaid_at",
        "escalation_level",
        "escalation_reasons",
    )
    list_filter = ("escalation_level", "currency")
    search_fields = ("identity_id",)
    readonly_fields = ("staff_actions",)

    @admin.display(description="actions")
    def staff_actions(self, standing):
        url = _payoff_url(standing.identity_id, standing.currency)
        debts = reverse("admin:debt_debt_changelist") + f"?q={standing.identity_id}"
        return format_html(
            '<a href="{}">Record a phone payment</a> · <a href="{}">Debts</a>', url, debts
        )
