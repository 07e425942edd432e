"""Payments admin: charges with their full timeline, Amazon's events, feedback delivery.

Read-only lists; the actions call the same services as the workers (``charge_retry``,
``event_release``, ``outbox_retry_now``).
"""

from datetime import timedelta

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from core.admin import ReadOnlyAdmin
from core.audit import actor_for_user
from core.clock import now as business_now
from core.outbox import outbox_retry_now

from .enums import EventStatus
from .models import AmazonCall, AmazonEvent, Charge, FeedbackReport
from .selectors import feedback_age_seconds, report_outbox_message, trip_timeline
from .services.events import event_release
from .services.operations import charge_retry, charge_void

AGE_BUCKETS = {
    "1h": ("under 1 hour", timedelta(hours=1)),
    "1d": ("under 1 day", timedelta(days=1)),
    "old": ("older than 1 day", None),
}


class PaymentActionsMixin:
    """Actions that call Amazon or move money: Finance (``payments.change_charge``) only."""

    def has_act_permission(self, request):
        return request.user.has_perm("payments.change_charge")


class AgeFilter(admin.SimpleListFilter):
    """How long since the last state change, on the business clock."""

    title = "age in state"
    parameter_name = "age"
    field = "state_changed_at"

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in AGE_BUCKETS.items()]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        now = business_now()
        if value == "old":
            return queryset.filter(**{f"{self.field}__lt": now - timedelta(days=1)})
        return queryset.filter(**{f"{self.field}__gte": now - AGE_BUCKETS[value][1]})


class FeedbackAgeFilter(AgeFilter):
    """Age of a report on the business clock (its paymentStatusTime, epoch milliseconds)."""

    title = "age"

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        now_ms = int(business_now().timestamp() * 1000)
        if value == "old":
            return queryset.filter(status_time_ms__lt=now_ms - 86_400_000)
        limit = int(AGE_BUCKETS[value][1].total_seconds() * 1000)
        return queryset.filter(status_time_ms__gte=now_ms - limit)


class DeliveredFilter(admin.SimpleListFilter):
    title = "delivery"
    parameter_name = "delivered"

    def lookups(self, request, model_admin):
        return [("no", "not delivered yet"), ("yes", "answered by Amazon")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(outcome="")
        if self.value() == "yes":
            return queryset.exclude(outcome="")
        return queryset


def _timeline_html(trip):
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
        (
            (entry.at.strftime("%Y-%m-%d %H:%M:%S"), entry.kind, entry.title, entry.detail[:600])
            for entry in trip_timeline(trip=trip)
        ),
    )
    return format_html(
        "<table><tr><th>time</th><th>kind</th><th>what</th><th>detail</th></tr>{}</table>", rows
    )


@admin.register(Charge)
class ChargeAdmin(PaymentActionsMixin, ReadOnlyAdmin):
    list_display = (
        "trip",
        "state",
        "trip_state",
        "cart_total",
        "approved_amount",
        "capture_amount",
        "currency",
        "state_changed_at",
        "flag_reason",
    )
    list_filter = ("state", "trip__state", AgeFilter, "currency")
    list_select_related = ("trip", "trip__store")
    search_fields = ("trip__shopping_trip_id", "trip__store__store_id", "reconciliation_id")
    readonly_fields = ("timeline",)
    actions = ["retry_parked", "void_before_capture"]

    @admin.display(description="trip state", ordering="trip__state")
    def trip_state(self, charge):
        return charge.trip.state

    @admin.display(description="timeline (gate, cart, calls, transitions, events, feedback)")
    def timeline(self, charge):
        return _timeline_html(charge.trip)

    @admin.action(description="Retry parked trips now", permissions=["act"])
    def retry_parked(self, request, queryset):
        outcomes: dict[str, int] = {}
        for trip_pk in queryset.values_list("trip_id", flat=True):
            outcome = charge_retry(trip_pk=trip_pk, actor=actor_for_user(request.user))
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        summary = ", ".join(f"{count} {name}" for name, count in sorted(outcomes.items()))
        self.message_user(request, f"Retry: {summary}.", messages.SUCCESS)

    @admin.action(description="Release the pre-auth instead of charging", permissions=["act"])
    def void_before_capture(self, request, queryset):
        outcomes: dict[str, int] = {}
        for trip_pk in queryset.values_list("trip_id", flat=True):
            outcome = charge_void(trip_pk=trip_pk, actor=actor_for_user(request.user))
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        summary = ", ".join(f"{count} {name}" for name, count in sorted(outcomes.items()))
        self.message_user(request, f"Release: {summary}.", messages.SUCCESS)


@admin.register(AmazonCall)
class AmazonCallAdmin(ReadOnlyAdmin):
    list_display = ("business_time", "operation", "outcome", "http_status", "elapsed_ms", "trip")
    list_filter = ("operation", "outcome")
    list_select_related = ("trip",)
    search_fields = ("trip__shopping_trip_id", "outbox_key")


@admin.register(AmazonEvent)
class AmazonEventAdmin(PaymentActionsMixin, ReadOnlyAdmin):
    list_display = ("received_at", "event_type", "status", "trip_ref", "source", "note")
    list_filter = ("status", "event_type", "detail_type", "is_test")
    search_fields = ("event_id", "trip_ref")
    actions = ["release"]

    @admin.action(description="Release from quarantine", permissions=["act"])
    def release(self, request, queryset):
        released = sum(
            event_release(event_pk=pk)
            for pk in queryset.filter(status=EventStatus.QUARANTINED).values_list("pk", flat=True)
        )
        self.message_user(request, f"{released} event(s) released for processing.")


@admin.register(FeedbackReport)
class FeedbackReportAdmin(PaymentActionsMixin, ReadOnlyAdmin):
    list_display = (
        "created_at",
        "trip",
        "sequence",
        "total_amount",
        "settled_amount",
        "currency",
        "reason",
        "delivery",
        "age",
    )
    list_filter = (DeliveredFilter, FeedbackAgeFilter, "outcome", "reason")
    list_select_related = ("trip",)
    search_fields = ("trip__shopping_trip_id",)
    actions = ["deliver_now"]

    @admin.display(description="delivery")
    def delivery(self, report):
        if report.outcome:
            return report.outcome
        message = report_outbox_message(report)
        if message is None:
            return "not queued"
        return f"{message.status} after {message.attempts} attempt(s) {message.last_status_code}"

    @admin.display(description="age")
    def age(self, report):
        seconds = int(feedback_age_seconds(report))
        if seconds < 60:
            return f"{seconds} s"
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"

    @admin.action(description="Deliver now", permissions=["act"])
    def deliver_now(self, request, queryset):
        count = 0
        for report in queryset.filter(outcome=""):
            message = report_outbox_message(report)
            if message is not None:
                outbox_retry_now(message_id=message.pk)
                count += 1
        self.message_user(request, f"{count} report(s) queued for delivery.")
