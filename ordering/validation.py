"""Validate a Create Purchases body (contract §1.1, §1.3, §0.4): every problem, with its field path.

Pure: no database. ``purchase_request_parse`` returns the parsed request and the list of
problems; the service adds ``storeId`` → ``UNKNOWN`` after looking the store up. Unknown fields
are ignored; an unknown ``scanResult.type`` is kept as sent (contract §0.10).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.errors import FieldProblem
from jwo_client.wire import (
    BAD_FORMAT,
    EMPTY,
    ID_PATTERN,
    MISSING,
    NOT_ALLOWED,
    OUT_OF_RANGE,
    WRONG_TYPE,
    parse_timestamp,
    string_problem,
)

DUPLICATE = "DUPLICATE"
INCONSISTENT = "INCONSISTENT"

UUID_PATTERN = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
QUANTITY_PATTERN = re.compile(r"^[0-9]+(\.[0-9]+)?$")
QUANTITY_MAX_LENGTH = 10
LOCATIONS = ("ENTRY", "MANUAL_IN_STORE")
PAYLOAD_TYPES = ("FINANCIAL", "SCAN_CODE")
ITEM_TYPES = ("SKU", "SCANCODE")
QUANTITY_UNITS = ("unit", "kg", "g", "lb", "oz")
EXTERNAL_ID_TYPES = ("UPC",)
MAX_AUTH_EVENTS = 1000
MAX_CART_ITEMS = 10000


@dataclass(frozen=True, slots=True)
class AuthEvent:
    id: str
    timestamp: datetime
    location: str
    payload_type: str
    scan_result_id: str
    scan_result_type: str
    raw: dict


@dataclass(frozen=True, slots=True)
class Item:
    position: int
    key: str  # lineItemId, or "#<position>"
    line_item_id: str
    item_id: str
    item_type: str
    quantity_value: str
    quantity: Decimal
    unit: str
    external_ids: tuple[tuple[str, str], ...]  # (type, id)
    raw: dict


@dataclass(slots=True)
class PurchaseRequest:
    request_id: str = ""
    trip_id: str = ""
    store_id: str = ""
    start_time: datetime | None = None
    end_time: datetime | None = None
    auth_events: list[AuthEvent] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    shopper_identity_id: str = ""
    shopper_device_id: str = ""
    payment_source_id: str = ""
    problems: list[FieldProblem] = field(default_factory=list)
    store_id_valid: bool = False


class _Checker:
    def __init__(self):
        self.problems: list[FieldProblem] = []

    def add(self, path: str, problem: str) -> None:
        self.problems.append(FieldProblem(path, problem))

    def string(
        self, obj: dict, name: str, path: str, *, pattern=None, max_length=255
    ) -> str | None:
        """A required string; records the problem and returns None when it fails."""
        problem = string_problem(obj.get(name), pattern=pattern, max_length=max_length)
        if problem:
            self.add(path, problem)
            return None
        return obj[name]

    def optional_string(self, obj: dict, name: str, path: str, *, max_length=255) -> str:
        value = obj.get(name)
        if value is None:
            return ""
        problem = string_problem(value, max_length=max_length)
        if problem:
            self.add(path, problem)
            return ""
        return value

    def enum(self, obj: dict, name: str, path: str, allowed, *, required: bool) -> str:
        value = obj.get(name)
        if value is None:
            if required:
                self.add(path, MISSING)
            return ""
        if not isinstance(value, str):
            self.add(path, WRONG_TYPE)
            return ""
        if value not in allowed:
            self.add(path, NOT_ALLOWED)
            return ""
        return value

    def timestamp(self, obj: dict, name: str, path: str) -> datetime | None:
        value = obj.get(name)
        if value is None:
            self.add(path, MISSING)
            return None
        if not isinstance(value, str):
            self.add(path, WRONG_TYPE)
            return None
        try:
            return parse_timestamp(value)
        except ValueError:
            self.add(path, BAD_FORMAT)
            return None

    def obj(self, parent: dict, name: str, path: str, *, required: bool) -> dict | None:
        value = parent.get(name)
        if value is None:
            if required:
                self.add(path, MISSING)
            return None
        if not isinstance(value, dict):
            self.add(path, WRONG_TYPE)
            return None
        return value

    def array(self, parent: dict, name: str, path: str, limit: int) -> list | None:
        value = parent.get(name)
        if value is None:
            self.add(path, MISSING)
            return None
        if not isinstance(value, list):
            self.add(path, WRONG_TYPE)
            return None
        if len(value) > limit:
            self.add(path, OUT_OF_RANGE)
            return None
        return value


def purchase_request_parse(body: Any) -> PurchaseRequest:
    request = PurchaseRequest()
    check = _Checker()
    if body is None:
        request.problems = [FieldProblem("", MISSING)]
        return request
    if not isinstance(body, dict):
        request.problems = [FieldProblem("", WRONG_TYPE)]
        return request
    request_id = check.string(body, "requestId", "requestId")
    if request_id is not None and not UUID_PATTERN.fullmatch(request_id):
        check.add("requestId", BAD_FORMAT)
    request.request_id = request_id or ""
    request.trip_id = (
        check.string(
            body, "idempotentShoppingTripId", "idempotentShoppingTripId", pattern=ID_PATTERN
        )
        or ""
    )
    store_id = check.string(body, "storeId", "storeId", pattern=ID_PATTERN)
    request.store_id, request.store_id_valid = store_id or "", store_id is not None
    trip = check.obj(body, "shoppingTrip", "shoppingTrip", required=True)
    if trip is not None:
        _parse_trip(check, trip, request)
    items = check.array(body, "cartItems", "cartItems", MAX_CART_ITEMS)
    if items is not None:
        request.items = _parse_items(check, items)
    identity = check.obj(body, "shopperIdentity", "shopperIdentity", required=False)
    if identity is not None:
        request.shopper_identity_id = check.string(identity, "id", "shopperIdentity.id") or ""
    request.shopper_device_id = check.optional_string(body, "shopperDeviceId", "shopperDeviceId")
    source = check.obj(body, "paymentSource", "paymentSource", required=False)
    if source is not None:
        request.payment_source_id = check.optional_string(source, "id", "paymentSource.id")
    request.problems = check.problems
    return request


def _parse_trip(check: _Checker, trip: dict, request: PurchaseRequest) -> None:
    request.start_time = check.timestamp(trip, "startTime", "shoppingTrip.startTime")
    request.end_time = check.timestamp(trip, "endTime", "shoppingTrip.endTime")
    if request.start_time and request.end_time and request.end_time < request.start_time:
        check.add("shoppingTrip.endTime", INCONSISTENT)
    events = check.array(trip, "authEvents", "shoppingTrip.authEvents", MAX_AUTH_EVENTS)
    if events is None:
        return
    if not events:
        check.add("shoppingTrip.authEvents", EMPTY)
        return
    seen: set[str] = set()
    for index, event in enumerate(events):
        path = f"shoppingTrip.authEvents[{index}]"
        if not isinstance(event, dict):
            check.add(path, WRONG_TYPE)
            continue
        event_id = check.string(event, "id", f"{path}.id", pattern=ID_PATTERN)
        if event_id is not None:
            if event_id in seen:
                check.add(f"{path}.id", DUPLICATE)
            seen.add(event_id)
        timestamp = check.timestamp(event, "timestamp", f"{path}.timestamp")
        location = check.enum(event, "location", f"{path}.location", LOCATIONS, required=False)
        payload = check.enum(
            event, "payloadType", f"{path}.payloadType", PAYLOAD_TYPES, required=True
        )
        scan_id = scan_type = ""
        scan = check.obj(event, "scanResult", f"{path}.scanResult", required=False)
        if scan is not None:
            scan_id = check.optional_string(scan, "id", f"{path}.scanResult.id")
            # Any type is kept (contract §0.10); it only has to be a string of sane length.
            scan_type = check.optional_string(scan, "type", f"{path}.scanResult.type")
        if event_id is not None and timestamp is not None and payload:
            request.auth_events.append(
                AuthEvent(event_id, timestamp, location, payload, scan_id, scan_type, event)
            )


def _parse_items(check: _Checker, items: list) -> list[Item]:
    parsed: list[Item] = []
    line_ids: set[str] = set()
    for index, item in enumerate(items):
        path = f"cartItems[{index}]"
        if not isinstance(item, dict):
            check.add(path, WRONG_TYPE)
            continue
        before = len(check.problems)
        item_id = check.string(item, "id", f"{path}.id")
        item_type = check.enum(item, "type", f"{path}.type", ITEM_TYPES, required=True)
        value, quantity, unit = _parse_quantity(check, item, path)
        external = _parse_external_ids(check, item, path)
        line_item_id = check.optional_string(item, "lineItemId", f"{path}.lineItemId")
        if line_item_id:
            if line_item_id in line_ids:
                check.add(f"{path}.lineItemId", DUPLICATE)
            line_ids.add(line_item_id)
        if len(check.problems) == before:
            parsed.append(
                Item(
                    position=index,
                    key=line_item_id or f"#{index}",
                    line_item_id=line_item_id,
                    item_id=item_id,
                    item_type=item_type,
                    quantity_value=value,
                    quantity=quantity,
                    unit=unit,
                    external_ids=external,
                    raw=item,
                )
            )
    return parsed


def _parse_quantity(check: _Checker, item: dict, path: str):
    quantity = check.obj(item, "quantity", f"{path}.quantity", required=True)
    if quantity is None:
        return "", None, ""
    value = check.string(
        quantity, "value", f"{path}.quantity.value", max_length=QUANTITY_MAX_LENGTH
    )
    unit = check.enum(quantity, "unit", f"{path}.quantity.unit", QUANTITY_UNITS, required=True)
    if value is None:
        return "", None, unit
    if not QUANTITY_PATTERN.fullmatch(value):
        check.add(f"{path}.quantity.value", BAD_FORMAT)
        return value, None, unit
    number = Decimal(value)
    if number <= 0:
        check.add(f"{path}.quantity.value", OUT_OF_RANGE)
    elif unit == "unit" and number != number.to_integral_value():
        check.add(f"{path}.quantity.value", INCONSISTENT)
    return value, number, unit


def _parse_external_ids(check: _Checker, item: dict, path: str) -> tuple[tuple[str, str], ...]:
    identifiers = item.get("externalIdentifiers")
    if identifiers is None:
        return ()
    if not isinstance(identifiers, list):
        check.add(f"{path}.externalIdentifiers", WRONG_TYPE)
        return ()
    found = []
    for index, identifier in enumerate(identifiers):
        where = f"{path}.externalIdentifiers[{index}]"
        if not isinstance(identifier, dict):
            check.add(where, WRONG_TYPE)
            continue
        identifier_id = check.string(identifier, "id", f"{where}.id")
        kind = check.enum(identifier, "type", f"{where}.type", EXTERNAL_ID_TYPES, required=True)
        if identifier_id is not None and kind:
            found.append((kind, identifier_id))
    return tuple(found)
