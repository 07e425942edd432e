"""No PII in logs: the filter removes emails, card numbers, tails and expiry dates everywhere."""

import io
import json
import logging

import pytest

from core.logging import JsonFormatter, PiiScrubFilter


@pytest.fixture
def capture():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(PiiScrubFilter())
    logger = logging.getLogger("test.pii")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield logger, lines, stream


SECRETS = [
    "pat.shopper+jwo@example.com",
    "4111111111111111",
    "4111 1111 1111 1111",
    "5500-0000-0000-0004",
    "12/27",
    "12/2027",
]


@pytest.mark.parametrize("secret", SECRETS)
def test_message_text_is_scrubbed(capture, secret):
    logger, lines, stream = capture
    logger.info("shopper said %s at the gate", secret)
    assert secret not in stream.getvalue()
    assert "[redacted]" in lines()[0]["message"]


def test_card_tail_written_out_is_scrubbed(capture):
    logger, _lines, stream = capture
    logger.info("card VISA ending in 1234, last4=5678, tail: 9012, ****3456")
    text = stream.getvalue()
    for tail in ("1234", "5678", "9012", "3456"):
        assert tail not in text


def test_extra_fields_are_scrubbed_by_key_and_by_value(capture):
    logger, lines, stream = capture
    logger.warning(
        "transactional data",
        extra={
            "payload": {
                "brand": "VISA",
                "tail": "1234",
                "expirationDate": {"expirationYear": "2027", "expirationMonth": "12"},
                "shopperEmail": "someone@example.org",
                "note": "contact someone@example.org",
            },
            "email": "x@y.io",
        },
    )
    record = lines()[0]
    text = stream.getvalue()
    assert "someone@example.org" not in text and "x@y.io" not in text
    assert record["payload"]["tail"] == "[redacted]"
    assert record["payload"]["expirationDate"] == "[redacted]"
    assert record["payload"]["brand"] == "VISA"
    assert record["email"] == "[redacted]"


def test_exception_text_is_scrubbed(capture):
    logger, lines, stream = capture
    try:
        raise ValueError("bad card 4111111111111111 for a@b.com")
    except ValueError:
        logger.exception("failed")
    text = stream.getvalue()
    assert "4111111111111111" not in text and "a@b.com" not in text
    assert "ValueError" in lines()[0]["exc_info"]


def test_ordinary_figures_survive(capture):
    logger, lines, _ = capture
    logger.info("trip priced", extra={"total": "23.47", "lines": 12, "store": "STORE-001"})
    record = lines()[0]
    assert (record["total"], record["lines"], record["store"]) == ("23.47", 12, "STORE-001")


def test_configured_logging_uses_the_filter():
    from django.conf import settings

    assert "scrub_pii" in settings.LOGGING["handlers"]["console"]["filters"]
