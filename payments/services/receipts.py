"""Record the transactional data of a trip (contract §3.5) for its receipt: brand and tail."""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from core.clock import now as business_now


def charge_record_transactional_data(*, charge_pk: int, data: dict) -> bool:
    """Keep the receipt fields; nothing else of the EMV data is stored. Idempotent: only the
    first answer is kept (one conditional ``UPDATE``, which takes the charge's row lock)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE payments_charge SET card_brand = %s, card_tail = %s, reconciliation_id = %s, "
            "transactional_data_at = %s, updated_at = %s "
            "WHERE id = %s AND transactional_data_at IS NULL",
            [
                (data.get("brand") or "")[:40],
                (data.get("tail") or "")[-4:],
                (data.get("reconciliationId") or "")[:255],
                business_now(),
                timezone.now(),  # updated_at is wall time (auto_now)
                charge_pk,
            ],
        )
        return cursor.rowcount == 1
