from django.contrib import admin
from django.utils.html import format_html_join

from core.admin import ReadOnlyAdmin

from .models import GateEvent, Shopper, ShoppingTrip, Store, TripAuthEvent
from .selectors import trip_audit_trail


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("store_id", "name", "currency", "preauth_amount", "fa_mode", "balance_strategy")
    search_fields = ("store_id", "name")
    fieldsets = (
        (None, {"fields": ("store_id", "name", "currency", "time_zone")}),
        (
            "Payments",
            {
                "fields": (
                    "preauth_amount",
                    "preauth_window_hours",
                    "settle_margin_hours",
                    "refund_window_days",
                )
            },
        ),
        ("Gate", {"fields": ("fa_mode", "balance_strategy", "gate_fallback", "gate_budget_ms")}),
        (
            "Bad debt",
            {
                "fields": (
                    "decline_strategy",
                    "decline_search_attempts",
                    "bad_cart_policy",
                    "deny_entry_with_debt",
                    "high_risk_threshold",
                )
            },
        ),
    )


@admin.register(Shopper)
class ShopperAdmin(ReadOnlyAdmin):
    list_display = ("identity_id", "first_seen_at")
    search_fields = ("identity_id",)


class GateEventInline(admin.TabularInline):
    model = GateEvent
    extra = 0
    can_delete = False
    fields = (
        "gate_event_id",
        "occurred_at",
        "event_type",
        "interaction_type",
        "authorized",
        "preauth_amount",
        "currency",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class TripAuthEventInline(admin.TabularInline):
    model = TripAuthEvent
    extra = 0
    can_delete = False
    fields = ("auth_event_id", "occurred_at", "location", "payload_type", "scan_result_type")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ShoppingTrip)
class ShoppingTripAdmin(ReadOnlyAdmin):
    list_display = (
        "shopping_trip_id",
        "store",
        "state",
        "cart_total",
        "settled_amount",
        "currency",
        "settle_by",
        "state_changed_at",
    )
    list_filter = ("state", "store")
    list_select_related = ("store", "shopper")
    search_fields = ("shopping_trip_id", "shopper__identity_id")
    date_hierarchy = "created_at"
    inlines = [GateEventInline, TripAuthEventInline]
    readonly_fields = ("timeline",)

    @admin.display(description="Timeline")
    def timeline(self, trip):
        rows = (
            (e.business_time, e.action, e.from_state or "-", e.to_state or "-", e.actor, e.reason)
            for e in trip_audit_trail(trip=trip)
        )
        return format_html_join("", "<div>{} · {} · {} → {} · {} · {}</div>", rows) or "-"

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("trips.view_shoppingtrip")
