"""Shopper identities in the decision log are kept as keyed digests, never in clear.

The digest lets staff correlate a shopper's decisions, and dry runs match identity lists, without
the log holding the identifier Amazon ties to a payment instrument.
"""

import hashlib
import hmac
from functools import lru_cache

from django.conf import settings

DIGEST_HEX_LENGTH = 32


@lru_cache(maxsize=1)
def _key() -> bytes:
    return hashlib.sha256(b"gate-identity:" + settings.SECRET_KEY.encode()).digest()


def identity_digest(identity_id: str) -> str:
    mac = hmac.new(_key(), identity_id.encode(), hashlib.sha256)
    return mac.hexdigest()[:DIGEST_HEX_LENGTH]
