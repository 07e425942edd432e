"""The simulator's balance book (contract §8.6 ``GET /_sim/v1/balances/{id}``), for reconciling
our books with what Amazon was told in tests, demos and integration rehearsals."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote

import httpx

from jwo_client import wire

from ..ports import BookBalance, LookupRetryable


class SimulatorBalanceBook:
    def __init__(self, *, base_url: str, timeout: float = 5.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = httpx.Timeout(timeout, connect=2.0)

    def balances(self, *, identity_id: str) -> list[BookBalance]:
        url = f"{self.base_url}/_sim/v1/balances/{quote(identity_id, safe='')}"
        try:
            response = httpx.get(url, timeout=self.timeout)
            response.raise_for_status()
            body = wire.loads(response.content)
        except (httpx.HTTPError, ValueError) as error:
            raise LookupRetryable(type(error).__name__) from None
        return [
            BookBalance(
                currency=entry["code"], amount=Decimal(str(entry["amount"])), trips=entry["trips"]
            )
            for entry in body.get("balances", [])
        ]
