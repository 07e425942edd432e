"""Raise and resolve operator alerts. An alert is a row (durable, de-duplicated) and a log line."""

import logging

from django.db import IntegrityError, transaction
from django.db.models import F

from . import clock
from .models import Alert, AlertSeverity, AlertStatus

logger = logging.getLogger("jwo.alerts")


def alert_raise(
    *, key: str, kind: str, message: str, severity: str = AlertSeverity.WARNING, context=None
) -> Alert:
    """Open an alert, or count one more occurrence of the open alert with the same key."""
    at = clock.now()
    log_level = logging.ERROR if severity == AlertSeverity.CRITICAL else logging.WARNING
    logger.log(log_level, message, extra={"alert_key": key, "alert_kind": kind})
    open_states = [AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED]
    updated = Alert.objects.filter(key=key, status__in=open_states).update(
        occurrences=F("occurrences") + 1, last_seen_at=at
    )
    if updated:
        return Alert.objects.get(key=key, status__in=open_states)
    try:
        with transaction.atomic():
            return Alert.objects.create(
                key=key,
                kind=kind,
                severity=severity,
                message=message[:500],
                context=context or {},
                first_seen_at=at,
                last_seen_at=at,
            )
    except IntegrityError:
        # A concurrent raise opened it first: count this occurrence on that one.
        Alert.objects.filter(key=key, status__in=open_states).update(
            occurrences=F("occurrences") + 1, last_seen_at=at
        )
        return Alert.objects.get(key=key, status__in=open_states)


def alert_resolve(*, key: str) -> int:
    return Alert.objects.filter(
        key=key, status__in=[AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED]
    ).update(status=AlertStatus.RESOLVED, resolved_at=clock.now())
