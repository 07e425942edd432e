"""Record the transactional data of a trip (contract §3.5) for its receipt: brand and tail."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from core.audit import audit_record
from core.clock import now as business_now

ACTOR = "system:payments"


def charge_record_transactional_data(*, charge_pk: int, data: dict) -> bool:
    """Keep the receipt fields; nothing else of the EMV data is stored. Idempotent: only the
    first answer is kept (one conditional ``UPDATE``, which takes the charge's row lock) and
    audited (the card fields are not copied into the audit entry)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE payments_charge SET card_brand = %s, card_tail = %s, reconciliation_id = %s, "
            "transactional_data_at = %s, updated_at = %s "
            "WHERE id = %s AND transactional_data_at IS NULL RETURNING state",
            [
                (data.get("brand") or "")[:40],
                (data.get("tail") or "")[-4:],
                (data.get("reconciliationId") or "")[:255],
                business_now(),
                timezone.now(),  # updated_at is wall time (auto_now)
                charge_pk,
            ],
        )
        row = cursor.fetchone()
    if row is not None:
        audit_record(
            entity="charge",
            entity_id=str(charge_pk),
            action="transactional_data",
            from_state=row[0],  # no state change: the charge's state when the data came
            to_state=row[0],
            actor=ACTOR,
            reason="receipt fields from Amazon's transactional data (contract §3.5)",
            context={"reconciliation_id": (data.get("reconciliationId") or "")[:255]},
        )
    return row is not None
