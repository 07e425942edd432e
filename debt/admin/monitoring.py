"""Admin for what watches the debts: notices, reconciliation, entry breaches, escalations."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from core.admin import ReadOnlyAdmin
from core.audit import actor_for_user
from core.errors import ApplicationError

from ..enums import NoticeStatus
from ..models import (
    DebtNotice,
    EntryPolicyBreach,
    EscalationChange,
    ReconciliationDifference,
    ReconciliationRun,
)
from ..ports import balance_book
from ..services.notices import notice_bounce, notice_retry
from ..services.reconciliation import reconciliation_run
from .debts import ReadOnlyInline


@admin.register(DebtNotice)
class DebtNoticeAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "kind",
        "identity_id",
        "currency",
        "status",
        "balance_amount",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    )
    list_filter = ("status", "kind", "currency")
    search_fields = ("identity_id", "message_id")
    actions = ("retry", "mark_bounced")

    @admin.action(description="Send again (failed notices)", permissions=["resend"])
    def retry(self, request, queryset):
        count = 0
        for notice in queryset.filter(status=NoticeStatus.FAILED):
            notice_retry(notice_id=notice.pk, actor=actor_for_user(request.user))
            count += 1
        self.message_user(request, f"{count} notice(s) queued again.", messages.SUCCESS)

    @admin.action(description="Mark as bounced (sent notices)", permissions=["resend"])
    def mark_bounced(self, request, queryset):
        count = 0
        for notice in queryset.filter(status=NoticeStatus.SENT).exclude(message_id=""):
            count += (
                notice_bounce(message_id=notice.message_id, actor=actor_for_user(request.user))
                is not None
            )
        self.message_user(request, f"{count} notice(s) marked bounced.", messages.SUCCESS)

    def has_resend_permission(self, request):
        return request.user.has_perm("debt.change_debtnotice")


class DifferenceInline(ReadOnlyInline):
    model = ReconciliationDifference
    fields = ("kind", "trip", "identity_id", "currency", "ours", "theirs", "detail")
    readonly_fields = fields


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdmin):
    change_list_template = "debt/admin/reconciliation_change_list.html"
    list_display = (
        "id",
        "started_at",
        "actor",
        "with_balance_book",
        "trips_compared",
        "shoppers_compared",
        "differences_found",
    )
    inlines = (DifferenceInline,)

    def get_urls(self):
        return [
            path(
                "run-now/",
                self.admin_site.admin_view(require_POST(self.run_now)),
                name="debt_reconcile_now",
            ),
            *super().get_urls(),
        ]

    def run_now(self, request):
        if not request.user.has_perm("debt.add_reconciliationrun"):
            raise PermissionDenied
        try:
            run = reconciliation_run(actor=actor_for_user(request.user), book=balance_book())
        except ApplicationError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:debt_reconciliationrun_changelist"))
        self.message_user(
            request, f"Reconciliation {run.pk}: {run.differences_found} difference(s)."
        )
        return HttpResponseRedirect(reverse("admin:debt_reconciliationrun_change", args=[run.pk]))


@admin.register(ReconciliationDifference)
class ReconciliationDifferenceAdmin(ReadOnlyAdmin):
    list_display = ("run", "kind", "trip", "identity_id", "currency", "ours", "theirs", "detail")
    list_filter = ("kind", "currency", "run")
    list_select_related = ("run", "trip")
    search_fields = ("identity_id", "trip__shopping_trip_id")


@admin.register(EntryPolicyBreach)
class EntryPolicyBreachAdmin(ReadOnlyAdmin):
    list_display = (
        "occurred_at",
        "store",
        "identity_id",
        "blocking_amount",
        "currency",
        "debts",
        "gate_event_ref",
    )
    list_filter = ("store", "currency")
    search_fields = ("identity_id", "gate_event_ref")


@admin.register(EscalationChange)
class EscalationChangeAdmin(ReadOnlyAdmin):
    list_display = ("business_time", "identity_id", "currency", "from_level", "to_level", "reasons")
    list_filter = ("to_level", "currency")
    search_fields = ("identity_id",)
