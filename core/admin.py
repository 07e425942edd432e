from django.contrib import admin, messages

from .models import Alert, AlertStatus, AuditEntry, OutboxMessage, OutboxStatus
from .outbox import outbox_retry_now


class ReadOnlyAdmin(admin.ModelAdmin):
    """Lists and details only: rows here are history, changed by services, never by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "recorded_at",
        "entity",
        "entity_id",
        "action",
        "from_state",
        "to_state",
        "actor",
    )
    list_filter = ("entity", "action", "to_state")
    search_fields = ("entity_id", "actor", "reason")
    date_hierarchy = "recorded_at"


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "kind",
        "status",
        "trip_ref",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "created_at",
    )
    list_filter = ("status", "kind")
    search_fields = ("key", "trip_ref", "store_ref")
    actions = ["retry_now"]

    @admin.action(description="Retry now", permissions=["retry"])
    def retry_now(self, request, queryset):
        count = 0
        for message in queryset.filter(status__in=[OutboxStatus.DEAD, OutboxStatus.PENDING]):
            outbox_retry_now(message_id=message.pk)
            count += 1
        self.message_user(request, f"{count} message(s) queued for delivery.", messages.SUCCESS)

    def has_retry_permission(self, request):
        return request.user.has_perm("core.view_outboxmessage") and (
            request.user.is_superuser or request.user.groups.filter(name="Finance").exists()
        )


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("last_seen_at", "severity", "status", "kind", "message", "occurrences")
    list_filter = ("status", "severity", "kind")
    search_fields = ("key", "message")
    actions = ["acknowledge", "resolve"]

    @admin.action(description="Acknowledge", permissions=["view"])
    def acknowledge(self, request, queryset):
        updated = queryset.filter(status=AlertStatus.OPEN).update(status=AlertStatus.ACKNOWLEDGED)
        self.message_user(request, f"{updated} alert(s) acknowledged.")

    @admin.action(description="Resolve", permissions=["view"])
    def resolve(self, request, queryset):
        from .alerts import alert_resolve

        count = sum(alert_resolve(key=alert.key) for alert in queryset)
        self.message_user(request, f"{count} alert(s) resolved.")
