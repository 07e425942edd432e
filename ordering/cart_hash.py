"""The cart hash of contract §1.4: what makes two deliveries "the same cart".

hex SHA-256 of the canonical JSON of ``{"storeId", "cartItems", "authEvents"}`` with §1.1 fields
only: ``quantity.value`` as a decimal without trailing zeros; ``externalIdentifiers`` sorted by
(type, id); ``cartItems`` by (lineItemId or "", type, id, value); ``authEvents`` by id; sorted
keys, separators ``,`` and ``:``, UTF-8 with non-ASCII kept. Absent or null optional fields are
left out. ``requestId``, times and shopper fields are not part of it.
"""

import hashlib
import json
from decimal import Decimal

from .validation import AuthEvent, Item


def canonical_quantity(value: str) -> str:
    """``"2.0"`` → ``"2"``, ``"0.7420"`` → ``"0.742"``, ``"100"`` → ``"100"``, never exponents."""
    return format(Decimal(value).normalize(), "f")


def _item(item: Item) -> dict:
    canonical = {
        "id": item.item_id,
        "type": item.item_type,
        "quantity": {"value": canonical_quantity(item.quantity_value), "unit": item.unit},
    }
    if item.external_ids:
        canonical["externalIdentifiers"] = [
            {"id": identifier, "type": kind} for kind, identifier in sorted(item.external_ids)
        ]
    if item.line_item_id:
        canonical["lineItemId"] = item.line_item_id
    return canonical


def _event(event: AuthEvent) -> dict:
    raw = event.raw
    canonical = {"id": event.id, "timestamp": raw["timestamp"], "payloadType": event.payload_type}
    if event.location:
        canonical["location"] = event.location
    scan = raw.get("scanResult")
    if isinstance(scan, dict):
        kept = {key: scan[key] for key in ("id", "type") if scan.get(key) is not None}
        if kept:
            canonical["scanResult"] = kept
    return canonical


def cart_hash(*, store_id: str, items: list[Item], auth_events: list[AuthEvent]) -> str:
    cart_items = sorted(
        (_item(item) for item in items),
        key=lambda c: (c.get("lineItemId", ""), c["type"], c["id"], c["quantity"]["value"]),
    )
    events = sorted((_event(event) for event in auth_events), key=lambda c: c["id"])
    document = {"storeId": store_id, "cartItems": cart_items, "authEvents": events}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
