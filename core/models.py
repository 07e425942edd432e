"""Shared kernel tables: the append-only audit trail, the outbox of outbound calls, and alerts."""

from django.db import models


class AuditEntry(models.Model):
    """One state change of a trip, charge, refund or debt. Inserted, never updated or deleted.

    On PostgreSQL a trigger (migration 0002) refuses UPDATE and DELETE on this table.
    """

    entity = models.CharField(max_length=40)
    entity_id = models.CharField(max_length=300)
    action = models.CharField(max_length=60)
    from_state = models.CharField(max_length=40, blank=True)
    to_state = models.CharField(max_length=40, blank=True)
    actor = models.CharField(
        max_length=200, help_text="who or what: user:<id>, system:<part>, amazon"
    )
    reason = models.CharField(max_length=500, blank=True)
    context = models.JSONField(default=dict, blank=True)
    business_time = models.DateTimeField(help_text="the business clock when it happened")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["entity", "entity_id", "id"])]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.entity} {self.entity_id}: {self.from_state or '-'} -> {self.to_state or '-'}"


class OutboxStatus(models.TextChoices):
    PENDING = "PENDING", "pending"
    IN_FLIGHT = "IN_FLIGHT", "in flight"
    SUCCEEDED = "SUCCEEDED", "succeeded"
    DEAD = "DEAD", "dead"


class OutboxMessage(models.Model):
    """An outbound call committed in the same transaction as the business change that needs it.

    Delivered by a worker (fast path: enqueued on commit) and by a beat sweep (safety net), with
    retries recorded here rather than in Celery countdowns.
    """

    kind = models.CharField(max_length=60)
    key = models.CharField(max_length=300, unique=True, help_text="idempotency key from our rows")
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=12, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    store_ref = models.CharField(max_length=255, blank=True)
    trip_ref = models.CharField(max_length=255, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.CharField(max_length=60, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    result = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_due_idx",
                condition=models.Q(status="PENDING"),
            ),
            models.Index(
                fields=["lease_expires_at"],
                name="outbox_lease_idx",
                condition=models.Q(status="IN_FLIGHT"),
            ),
            models.Index(fields=["trip_ref"], name="outbox_trip_idx"),
            models.Index(fields=["kind", "status"], name="outbox_kind_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=OutboxStatus.values), name="outbox_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.status})"


class AlertSeverity(models.TextChoices):
    INFO = "INFO", "info"
    WARNING = "WARNING", "warning"
    CRITICAL = "CRITICAL", "critical"


class AlertStatus(models.TextChoices):
    OPEN = "OPEN", "open"
    ACKNOWLEDGED = "ACKNOWLEDGED", "acknowledged"
    RESOLVED = "RESOLVED", "resolved"


class Alert(models.Model):
    """Something an operator must look at. One open alert per key; repeats bump the counter."""

    key = models.CharField(max_length=300)
    kind = models.CharField(max_length=60)
    severity = models.CharField(max_length=10, choices=AlertSeverity.choices)
    status = models.CharField(max_length=14, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    message = models.CharField(max_length=500)
    context = models.JSONField(default=dict, blank=True)
    occurrences = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(status__in=["OPEN", "ACKNOWLEDGED"]),
                name="alert_one_open_per_key",
            ),
        ]
        indexes = [models.Index(fields=["status", "severity"])]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.message}"
