"""Structured JSON logs, and a filter that removes PII from every record before it is written.

Removed: e-mail addresses, card numbers (13–19 digits, with or without spaces or dashes), card
tails ("tail", "last4", "ending in 1234"), and expiry dates (MM/YY, MM/YYYY, EMV expiration
fields). Values of keys that name such data are replaced whole.
"""

import logging
import re

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

REDACTED = "[redacted]"

SENSITIVE_KEYS = {
    "email",
    "shopperemail",
    "shopper_email",
    "tail",
    "card_tail",
    "cardtail",
    "last4",
    "last_four",
    "pan",
    "card_number",
    "cardnumber",
    "expirationdate",
    "expiration_date",
    "expirationyear",
    "expirationmonth",
    "expiry",
    "card_expiry",
    "password",
    "secret",
    "authorization",
    "x-api-key",
}

_PATTERNS = [
    re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"),
    # card numbers: 13 to 19 digits, optionally grouped by spaces or dashes
    re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)"),
    # tails written out: "tail 1234", "last4=1234", "ending in 1234", "****1234"
    re.compile(r"(?i)(?:\btail\b|\blast ?4\b|\blast[_ ]four\b|\bending(?: in)?\b)[\"':= ]*\d{4}\b"),
    re.compile(r"[*xX•]{4,}[ -]?\d{4}\b"),
    # expiry dates MM/YY or MM/YYYY, and "expires 2027-12"
    re.compile(r"(?<![\d/])(?:0[1-9]|1[0-2])\s?/\s?(?:\d{4}|\d{2})(?![\d/])"),
    re.compile(r"(?i)\b(?:exp(?:iry|ires|iration)?)\b[\"':= ]*\d{2,4}[-/]\d{2,4}"),
]

_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()) | {
    "message",
    "asctime",
    "taskName",
}


def scrub_text(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


def scrub_value(value, key: str | None = None):
    if key is not None and key.lower() in SENSITIVE_KEYS:
        return REDACTED
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: scrub_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrub_value(item) for item in value)
    return value


class PiiScrubFilter(logging.Filter):
    """Rewrites the record in place: message, arguments, exception text and extra fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = scrub_text(message)
        record.args = None
        if record.exc_info:
            record.exc_text = scrub_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = scrub_text(record.stack_info)
        for attr, value in list(record.__dict__.items()):
            if attr not in _STANDARD_ATTRS:
                setattr(record, attr, scrub_value(value, attr))
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line; the exception text (already scrubbed) goes in ``exc_info``."""

    def add_fields(self, log_record, record, message_dict):
        super().add_fields(log_record, record, message_dict)
        if record.exc_text and "exc_info" not in log_record:
            log_record["exc_info"] = record.exc_text
