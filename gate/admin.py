"""Gate admin: policy versions (drafts editable, published ones frozen), the workflow buttons
(publish, one-click rollback, dry run, new draft), the decision log and the daily figures."""

from django.contrib import admin
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html

from core.admin import ReadOnlyAdmin

from . import admin_views
from .forms import PolicyRuleForm
from .models import (
    GateDailyFigures,
    GateDecision,
    IdentityList,
    PolicyRule,
    PolicyVersion,
    StoreGatePolicy,
)


class _DraftOnlyInline:
    """Rows of a version can change only while it is a draft."""

    def _editable(self, obj) -> bool:
        return obj is None or obj.is_draft

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)


class IdentityListInline(_DraftOnlyInline, admin.TabularInline):
    model = IdentityList
    extra = 0
    fields = ("name", "identities")


class PolicyRuleInline(_DraftOnlyInline, admin.StackedInline):
    model = PolicyRule
    form = PolicyRuleForm
    extra = 0
    ordering = ("position",)
    fieldsets = (
        (None, {"fields": (("position", "name", "enabled"),)}),
        (
            "When (every condition set must hold; first matching rule wins)",
            {
                "fields": (
                    ("recommendation", "no_risks"),
                    "risks_any",
                    "event_types",
                    "interaction_types",
                    ("balance", "min_outstanding", "max_outstanding"),
                    ("min_balance_age_hours", "max_balance_age_hours", "min_unpaid_trips"),
                    "escalation_levels",
                    "identity_list",
                    ("cart_hint", "min_cart_total", "max_cart_total"),
                )
            },
        ),
        (
            "Then",
            {
                "fields": (
                    "action",
                    ("adjust_amount", "adjust_add_outstanding"),
                    "deny_reason",
                    "deny_risks",
                )
            },
        ),
    )

    def get_formset(self, request, obj=None, **kwargs):
        self._version = obj
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "identity_list":
            version = getattr(self, "_version", None)
            kwargs["queryset"] = IdentityList.objects.filter(version=version)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    list_display = (
        "store",
        "number",
        "status",
        "active",
        "author",
        "reason",
        "created_at",
        "published_at",
    )
    list_filter = ("status", "store")
    list_select_related = ("store",)
    search_fields = ("store__store_id", "reason", "author")
    inlines = (IdentityListInline, PolicyRuleInline)
    change_form_template = "admin/gate/policyversion/change_form.html"
    draft_fields = ("balance_strategy", "fallback", "default_action", "default_reason", "reason")
    frozen_fields = (
        "store",
        "number",
        "status",
        "based_on",
        "author",
        "created_at",
        "published_by",
        "published_at",
    )

    def get_fields(self, request, obj=None):
        return (*self.frozen_fields, *self.draft_fields)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_draft:
            return self.frozen_fields
        return (*self.frozen_fields, *self.draft_fields)

    @admin.display(boolean=True, description="active")
    def active(self, obj) -> bool:
        return StoreGatePolicy.objects.filter(store_id=obj.store_id, active_version=obj).exists()

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.is_draft and super().has_delete_permission(request, obj)

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:gate_policyversion_new_draft")

    def get_urls(self):
        def wrap(view):
            def bound(request, *args, **kwargs):
                return view(self, request, *args, **kwargs)

            return self.admin_site.admin_view(bound)

        return [
            path(
                "new-draft/",
                wrap(admin_views.new_draft_view),
                name="gate_policyversion_new_draft",
            ),
            path(
                "<int:pk>/publish/",
                wrap(admin_views.publish_view),
                name="gate_policyversion_publish",
            ),
            path(
                "<int:pk>/rollback/",
                wrap(admin_views.rollback_view),
                name="gate_policyversion_rollback",
            ),
            path(
                "<int:pk>/dry-run/",
                wrap(admin_views.dry_run_view),
                name="gate_policyversion_dry_run",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            "version_is_active": bool(version and self.active(version)),
        }
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(StoreGatePolicy)
class StoreGatePolicyAdmin(ReadOnlyAdmin):
    list_display = ("store", "active_version_link", "updated_at")
    list_select_related = ("store", "active_version")

    @admin.display(description="active version")
    def active_version_link(self, obj):
        if obj.active_version is None:
            return "built-in default"
        url = reverse("admin:gate_policyversion_change", args=[obj.active_version_id])
        return format_html('<a href="{}">v{}</a>', url, obj.active_version.number)


@admin.register(GateDecision)
class GateDecisionAdmin(ReadOnlyAdmin):
    list_display = (
        "decided_at",
        "store",
        "gate_event_id",
        "event_type",
        "interaction_type",
        "recommended_authorized",
        "authorized",
        "preauth_amount",
        "override",
        "source",
        "rule_name",
        "policy_version",
        "latency_ms",
    )
    list_filter = (
        "store",
        "source",
        "authorized",
        "recommended_authorized",
        "override",
        "event_type",
        "balance_strategy",
    )
    list_select_related = ("store", "policy_version")
    search_fields = ("gate_event_id", "shopping_trip_id", "identity_digest", "rule_name")
    date_hierarchy = "decided_at"
    show_full_result_count = False


@admin.register(GateDailyFigures)
class GateDailyFiguresAdmin(ReadOnlyAdmin):
    list_display = (
        "day",
        "store",
        "decisions",
        "accept_rate",
        "deny_rate",
        "amount_override_rate",
        "allow_overrides",
        "deny_overrides",
        "high_risk_rate",
        "fallbacks",
        "unknown_values",
        "risk_counts",
        "p99_latency_ms",
    )
    list_filter = ("store",)
    list_select_related = ("store",)
    date_hierarchy = "day"
