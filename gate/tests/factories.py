"""Builders for gate tests: Shopper Authorization bodies (contract §2.1) and policy versions."""

import itertools
import uuid
from decimal import Decimal

from core import clock
from gate.enums import Action, VersionStatus
from gate.models import IdentityList, PolicyRule, PolicyVersion
from gate.services.policies import policy_version_publish
from jwo_client import wire

PATH = "/v1/fraudandabuse/shopperauthorization"
_events = itertools.count(1)


def gate_payload(
    store,
    *,
    shopper_id: str = "shopper-001",
    authorized: bool = True,
    risks: list | None = None,
    adjust: str | None = None,
    amount: str | None = None,
    event_type: str = "CREDIT_CARD",
    interaction_type: str = "TAP",
    event_id: str | None = None,
    trip_id: str | None = None,
    cart_hint: dict | None = None,
    currency: str | None = None,
) -> dict:
    currency = currency or store.currency
    recommendation: dict = {"shopperAuthorized": authorized, "shopperRisks": risks or []}
    if adjust is not None:
        recommendation["authorizationConditions"] = [
            {"type": "ADJUST", "amount": {"value": Decimal(adjust), "currencyCode": currency}}
        ]
    interaction = {
        "shoppingTripId": trip_id or str(uuid.uuid4()),
        "gateAuthenticationEvent": {
            "id": event_id or f"gae-{uuid.uuid4().hex[:12]}-{next(_events)}",
            "type": event_type,
            "interactionType": interaction_type,
            "timestamp": wire.format_timestamp(clock.now()),
            "location": "ENTRY",
            "data": {"gateId": "G2"},
        },
        "recommendation": recommendation,
    }
    if cart_hint is not None:
        interaction["cartHint"] = cart_hint
    return {
        "storeId": store.store_id,
        "shopperIdentity": {"id": shopper_id},
        "authorizedAmount": {
            "value": Decimal(amount) if amount else store.preauth_amount,
            "currencyCode": currency,
        },
        "shopperInteraction": interaction,
    }


def make_version(store, *, rules=(), lists=None, publish=True, author="user:1:risk", **fields):
    """A policy version with ``rules`` (dicts of PolicyRule fields, positions in order) and
    ``lists`` ({name: [identities]}); published (and so active) unless ``publish`` is False."""
    number = PolicyVersion.objects.filter(store=store).order_by("-number").first()
    version = PolicyVersion.objects.create(
        store=store,
        number=(number.number + 1) if number else 1,
        status=VersionStatus.DRAFT,
        author=author,
        reason=fields.pop("reason", "test"),
        **fields,
    )
    created_lists = {
        name: IdentityList.objects.create(version=version, name=name, identities="\n".join(ids))
        for name, ids in (lists or {}).items()
    }
    for position, rule in enumerate(rules, start=1):
        rule = dict(rule)
        if "identity_list" in rule:
            rule["identity_list"] = created_lists[rule["identity_list"]]
        rule.setdefault("name", f"rule {position}")
        rule.setdefault("action", Action.DENY)
        PolicyRule.objects.create(version=version, position=position, **rule)
    if publish:
        version = policy_version_publish(version=version, actor=author, reason="test publish")
    return version
