"""The debt policy in force for a currency (created with defaults on first use)."""

from decimal import Decimal

from django.db import IntegrityError, transaction

from core.audit import audit_record

from ..models import DebtPolicy

# Default amounts are written for two-decimal currencies; JPY (exponent 0) scales them by 100,
# as Amazon does for its high-risk threshold (100.00 USD, 10000 JPY).
_SCALED_FIELDS = (
    "denial_min_amount",
    "extended_min_amount",
    "fraud_min_amount",
    "write_off_finance_limit",
)
_SCALE = {"JPY": Decimal(100)}


def debt_policy_for(*, currency: str) -> DebtPolicy:
    policy = DebtPolicy.objects.filter(currency=currency).first()
    if policy is not None:
        return policy
    defaults = {}
    scale = _SCALE.get(currency)
    if scale:
        for field in _SCALED_FIELDS:
            defaults[field] = DebtPolicy._meta.get_field(field).default * scale
    try:
        with transaction.atomic():
            policy = DebtPolicy.objects.create(currency=currency, **defaults)
            audit_record(
                entity="debt_policy",
                entity_id=str(policy.pk),
                action="created",
                actor="system:debt",
                context={"currency": currency},
            )
            return policy
    except IntegrityError:
        return DebtPolicy.objects.get(currency=currency)
