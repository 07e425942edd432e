"""Validate a Shopper Authorization request (contract §2.1) into a ``GateRequest``.

Hand-written rather than a DRF serializer: it runs on every gate event inside a tight budget, and
the contract's rules (field paths, problem codes, unknown enum values tolerated) are simpler to
state directly. Malformed input raises ``ValidationFailed`` with every problem found; an unknown
``type``, ``interactionType``, ``location``, risk or condition type is tolerated and reported in
``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.errors import FieldProblem, ValidationFailed
from jwo_client import wire

from .enums import GateEventType, InteractionType, ShopperRisk

EVENT = "shopperInteraction.gateAuthenticationEvent"
RECOMMENDATION = "shopperInteraction.recommendation"
CART_HINT = "shopperInteraction.cartHint"
KNOWN_LOCATIONS = frozenset({"ENTRY"})
UNKNOWN_VALUE_MAX = 64
_EVENT_TYPES = frozenset(GateEventType.values)
_INTERACTION_TYPES = frozenset(InteractionType.values) - {InteractionType.UNRECOGNIZED}
_RISKS = frozenset(ShopperRisk.values)


@dataclass(frozen=True, slots=True)
class GateRequest:
    store_id: str
    identity_id: str
    authorized_amount: Decimal
    currency: str
    shopping_trip_id: str
    event_id: str
    event_type: str
    interaction_type: str
    location: str
    event_time: datetime
    recommended_authorized: bool
    recommended_amount: Decimal | None
    recommended_amount_currency: str | None
    recommended_risks: frozenset[str]
    cart_hint_present: bool
    cart_hint_total: Decimal | None
    cart_hint_items: int | None
    unknown: dict[str, Any] = field(default_factory=dict)


class _Problems:
    def __init__(self):
        self.items: list[FieldProblem] = []

    def add(self, path: str, problem: str) -> None:
        self.items.append(FieldProblem(path, problem))


def _object(data: dict | None, key: str, path: str, problems: _Problems, *, required=True):
    """The nested object at ``key``: ``{}`` when a required one is missing (its required leaves
    then report MISSING), None when it is optional and absent or of the wrong type."""
    if data is None:
        return None
    value = data.get(key)
    if value is None:
        return {} if required else None
    if not isinstance(value, dict):
        problems.add(path, wire.WRONG_TYPE)
        return None
    return value


def _string(data: dict | None, key: str, path: str, problems: _Problems, **checks) -> str | None:
    if data is None:
        return None
    problem = wire.string_problem(data.get(key), **checks)
    if problem:
        problems.add(path, problem)
        return None
    return data[key]


def _amount(
    data: dict | None, path: str, problems: _Problems, *, allow_zero: bool
) -> tuple[Decimal | None, str | None]:
    if data is None:
        return None, None
    value, code = data.get("value"), data.get("currencyCode")
    code_problem = wire.string_problem(code, max_length=3)
    if code_problem is None and not wire.CURRENCY_CODE_PATTERN.fullmatch(code):
        code_problem = wire.BAD_FORMAT
    if code_problem is None and code not in wire.CURRENCY_EXPONENTS:
        code_problem = wire.NOT_ALLOWED
    if code_problem:
        problems.add(f"{path}.currencyCode", code_problem)
    if value is None:
        problems.add(f"{path}.value", wire.MISSING)
        return None, None
    if code_problem:
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            problems.add(f"{path}.value", wire.WRONG_TYPE)
        return None, None
    value_problem = wire.wire_amount_problem(value, code, allow_zero=allow_zero)
    if value_problem:
        problems.add(f"{path}.value", value_problem)
        return None, None
    return Decimal(value), code


def _tolerated(value: str) -> str:
    return value[:UNKNOWN_VALUE_MAX]


def _recommendation(rec: dict | None, problems: _Problems, unknown: dict) -> tuple:
    if rec is None:
        return None, None, None, frozenset()
    authorized = rec.get("shopperAuthorized")
    if authorized is None:
        problems.add(f"{RECOMMENDATION}.shopperAuthorized", wire.MISSING)
    elif not isinstance(authorized, bool):
        problems.add(f"{RECOMMENDATION}.shopperAuthorized", wire.WRONG_TYPE)
        authorized = None
    amount = currency = None
    conditions = rec.get("authorizationConditions")
    if conditions is not None and not isinstance(conditions, list):
        problems.add(f"{RECOMMENDATION}.authorizationConditions", wire.WRONG_TYPE)
    for index, condition in enumerate(conditions if isinstance(conditions, list) else ()):
        path = f"{RECOMMENDATION}.authorizationConditions[{index}]"
        if not isinstance(condition, dict):
            problems.add(path, wire.WRONG_TYPE)
            continue
        kind = _string(condition, "type", f"{path}.type", problems)
        if kind is None:
            continue
        if kind != "ADJUST":
            unknown.setdefault("conditionTypes", []).append(_tolerated(kind))
            continue
        amount_data = _object(condition, "amount", f"{path}.amount", problems)
        value, code = _amount(amount_data, f"{path}.amount", problems, allow_zero=False)
        if value is not None and amount is None:
            amount, currency = value, code
    risks = rec.get("shopperRisks")
    known: set[str] = set()
    if risks is not None and not isinstance(risks, list):
        problems.add(f"{RECOMMENDATION}.shopperRisks", wire.WRONG_TYPE)
    for index, risk in enumerate(risks if isinstance(risks, list) else ()):
        if not isinstance(risk, str):
            problems.add(f"{RECOMMENDATION}.shopperRisks[{index}]", wire.WRONG_TYPE)
        elif risk in _RISKS:
            known.add(risk)
        else:
            unknown.setdefault("shopperRisks", []).append(_tolerated(risk))
    return authorized, amount, currency, frozenset(known)


def _cart_hint(interaction: dict | None, problems: _Problems) -> tuple:
    hint = _object(interaction, "cartHint", CART_HINT, problems, required=False)
    if hint is None:
        return False, None, None
    total = hint.get("totalPrice")
    if total is not None:
        if isinstance(total, dict):  # tolerate the money-object shape
            total = total.get("value")
        if isinstance(total, bool) or not isinstance(total, int | Decimal):
            problems.add(f"{CART_HINT}.totalPrice", wire.WRONG_TYPE)
            total = None
        elif total < 0:
            problems.add(f"{CART_HINT}.totalPrice", wire.OUT_OF_RANGE)
            total = None
        else:
            total = Decimal(total)
    items = hint.get("items")
    if items is not None and not isinstance(items, list):
        problems.add(f"{CART_HINT}.items", wire.WRONG_TYPE)
        items = None
    return True, total, (len(items) if items is not None else None)


def _event(interaction: dict | None, problems: _Problems, unknown: dict) -> tuple:
    event = _object(interaction, "gateAuthenticationEvent", EVENT, problems)
    event_id = _string(event, "id", f"{EVENT}.id", problems)
    kind = _string(event, "type", f"{EVENT}.type", problems)
    interaction_type = _string(event, "interactionType", f"{EVENT}.interactionType", problems)
    location = _string(event, "location", f"{EVENT}.location", problems)
    raw_time = event.get("timestamp") if event is not None else None
    event_time = None
    if event is None:
        pass
    elif raw_time is None:
        problems.add(f"{EVENT}.timestamp", wire.MISSING)
    elif not isinstance(raw_time, str):
        problems.add(f"{EVENT}.timestamp", wire.WRONG_TYPE)
    else:
        try:
            event_time = wire.parse_timestamp(raw_time)
        except ValueError:
            problems.add(f"{EVENT}.timestamp", wire.BAD_FORMAT)
    data = event.get("data") if event is not None else None
    if data is not None and (
        not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values())
    ):
        problems.add(f"{EVENT}.data", wire.WRONG_TYPE)
    if kind is not None and kind not in _EVENT_TYPES:
        unknown["type"] = _tolerated(kind)
        kind = GateEventType.UNRECOGNIZED
    if interaction_type is not None and interaction_type not in _INTERACTION_TYPES:
        unknown["interactionType"] = _tolerated(interaction_type)
        interaction_type = InteractionType.UNRECOGNIZED
    if location is not None and location not in KNOWN_LOCATIONS:
        unknown["location"] = _tolerated(location)
        location = _tolerated(location)[:40]
    return event_id, kind, interaction_type, location, event_time


def parse_gate_request(data: Any) -> GateRequest:
    """Check every field of §2.1; raise ``ValidationFailed`` listing all problems."""
    problems = _Problems()
    if not isinstance(data, dict):
        raise ValidationFailed([FieldProblem("", wire.WRONG_TYPE)])
    unknown: dict[str, Any] = {}
    store_id = _string(data, "storeId", "storeId", problems, pattern=wire.ID_PATTERN)
    shopper = _object(data, "shopperIdentity", "shopperIdentity", problems)
    identity_id = _string(shopper, "id", "shopperIdentity.id", problems)
    amount_data = _object(data, "authorizedAmount", "authorizedAmount", problems)
    amount, currency = _amount(amount_data, "authorizedAmount", problems, allow_zero=True)
    interaction = _object(data, "shopperInteraction", "shopperInteraction", problems)
    trip_id = _string(
        interaction,
        "shoppingTripId",
        "shopperInteraction.shoppingTripId",
        problems,
        pattern=wire.ID_PATTERN,
    )
    event_id, kind, interaction_type, location, event_time = _event(interaction, problems, unknown)
    rec = _object(interaction, "recommendation", RECOMMENDATION, problems)
    authorized, rec_amount, rec_currency, risks = _recommendation(rec, problems, unknown)
    hint_present, hint_total, hint_items = _cart_hint(interaction, problems)
    if problems.items:
        raise ValidationFailed(_deduplicated(problems.items))
    return GateRequest(
        store_id=store_id,
        identity_id=identity_id,
        authorized_amount=amount,
        currency=currency,
        shopping_trip_id=trip_id,
        event_id=event_id,
        event_type=kind,
        interaction_type=interaction_type,
        location=location,
        event_time=event_time,
        recommended_authorized=authorized,
        recommended_amount=rec_amount,
        recommended_amount_currency=rec_currency,
        recommended_risks=risks,
        cart_hint_present=hint_present,
        cart_hint_total=hint_total,
        cart_hint_items=hint_items,
        unknown=unknown,
    )


def _deduplicated(items: list[FieldProblem]) -> list[FieldProblem]:
    seen, result = set(), []
    for item in items:
        key = (item.field, item.problem)
        if key not in seen:
            seen.add(key)
            result.append(item)
    return result
