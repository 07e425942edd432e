"""Admin for the approval and review queues: write-offs, disputes, fraud cases, the policy."""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdmin
from core.audit import actor_for_user, audit_record
from core.errors import ApplicationError

from ..enums import DisputeStatus, FraudCaseStatus, WriteOffStatus
from ..models import DebtDispute, DebtPolicy, FraudReviewCase, WriteOffRequest
from ..services.fraud import fraud_case_close
from ..services.write_offs import write_off_approve, write_off_cancel, write_off_reject


def _each(model_admin, request, queryset, apply, done: str) -> None:
    """Apply a service to each selected row; report successes and every refusal with its reason."""
    count = 0
    for row in queryset:
        try:
            apply(row)
        except ApplicationError as error:
            model_admin.message_user(request, f"{row}: {error.message}", messages.ERROR)
        else:
            count += 1
    if count:
        model_admin.message_user(request, f"{count} {done}.", messages.SUCCESS)


@admin.register(WriteOffRequest)
class WriteOffRequestAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "debt",
        "amount",
        "currency",
        "reason_code",
        "status",
        "requested_by",
        "requested_at",
        "decided_by",
        "decided_at",
    )
    list_filter = ("status", "reason_code", "currency")
    list_select_related = ("debt", "requested_by", "decided_by")
    search_fields = ("debt__shopper_identity_id", "note")
    actions = ("approve", "reject", "withdraw")

    @admin.action(
        description="Approve (maker-checker; amount limits apply)", permissions=["decide"]
    )
    def approve(self, request, queryset):
        _each(
            self,
            request,
            queryset.filter(status=WriteOffStatus.PENDING),
            lambda row: write_off_approve(request_id=row.pk, approver=request.user),
            "write-off(s) approved and booked",
        )

    @admin.action(description="Reject", permissions=["decide"])
    def reject(self, request, queryset):
        _each(
            self,
            request,
            queryset.filter(status=WriteOffStatus.PENDING),
            lambda row: write_off_reject(request_id=row.pk, decided_by=request.user),
            "write-off(s) rejected",
        )

    @admin.action(description="Withdraw my request", permissions=["view"])
    def withdraw(self, request, queryset):
        _each(
            self,
            request,
            queryset.filter(status=WriteOffStatus.PENDING),
            lambda row: write_off_cancel(request_id=row.pk, user=request.user),
            "request(s) withdrawn",
        )

    def has_decide_permission(self, request):
        return request.user.has_perm("debt.approve_write_off")


@admin.register(DebtDispute)
class DebtDisputeAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "debt",
        "source",
        "status",
        "opened_at",
        "resolution_reason",
        "reversed_amount",
        "resolved_by",
        "resolve_link",
    )
    list_filter = ("status", "source", "resolution_reason")
    list_select_related = ("debt",)
    search_fields = ("debt__shopper_identity_id",)

    @admin.display(description="")
    def resolve_link(self, dispute):
        if dispute.status != DisputeStatus.OPEN:
            return ""
        return format_html(
            '<a href="{}">Resolve</a>', reverse("admin:debt_dispute_resolve", args=[dispute.pk])
        )


@admin.register(FraudReviewCase)
class FraudReviewCaseAdmin(ReadOnlyAdmin):
    list_display = ("id", "identity_id", "currency", "status", "reasons", "opened_at", "closed_by")
    list_filter = ("status", "currency")
    search_fields = ("identity_id",)
    actions = ("close_cleared", "close_confirmed")

    def _close(self, request, queryset, confirmed: bool, done: str):
        _each(
            self,
            request,
            queryset.filter(status=FraudCaseStatus.OPEN),
            lambda row: fraud_case_close(
                case_id=row.pk, confirmed=confirmed, actor=actor_for_user(request.user)
            ),
            done,
        )

    @admin.action(description="Close: no fraud", permissions=["investigate"])
    def close_cleared(self, request, queryset):
        self._close(request, queryset, False, "case(s) cleared")

    @admin.action(
        description="Close: fraud confirmed (keeps the shopper out)", permissions=["investigate"]
    )
    def close_confirmed(self, request, queryset):
        self._close(request, queryset, True, "case(s) confirmed")

    def has_investigate_permission(self, request):
        return request.user.has_perm("debt.change_fraudreviewcase")


@admin.register(DebtPolicy)
class DebtPolicyAdmin(admin.ModelAdmin):
    """Editable by the Finance lead (``debt.change_debtpolicy``); every change is audited."""

    list_display = (
        "currency",
        "denial_min_trips",
        "denial_min_amount",
        "extended_min_trips",
        "extended_min_amount",
        "written_off_blocks_entry",
        "dispute_pauses_block",
        "write_off_finance_limit",
        "updated_at",
    )

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            entity="debt_policy",
            entity_id=str(obj.pk),
            action="changed" if change else "created",
            actor=actor_for_user(request.user),
            context={name: str(form.cleaned_data.get(name)) for name in form.changed_data},
        )
