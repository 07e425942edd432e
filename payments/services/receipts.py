"""Record the transactional data of a trip (contract §3.5) for its receipt: brand and tail."""

from __future__ import annotations

from django.db import transaction

from core.clock import now as business_now

from ..models import Charge


def charge_record_transactional_data(*, charge_pk: int, data: dict) -> bool:
    """Keep the receipt fields; nothing else of the EMV data is stored. Idempotent."""
    with transaction.atomic(savepoint=False):  # inside on_success: no savepoint
        charge = Charge.objects.select_for_update().filter(pk=charge_pk).first()
        if charge is None or charge.transactional_data_at is not None:
            return False
        charge.card_brand = (data.get("brand") or "")[:40]
        charge.card_tail = (data.get("tail") or "")[-4:]
        charge.reconciliation_id = (data.get("reconciliationId") or "")[:255]
        charge.transactional_data_at = business_now()
        charge.save(
            update_fields=[
                "card_brand",
                "card_tail",
                "reconciliation_id",
                "transactional_data_at",
                "updated_at",
            ]
        )
        return True
