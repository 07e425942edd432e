"""Per-endpoint protection shared by every worker through Redis (contract §0.8).

- **429 pause**: after a 429 no worker calls that endpoint until ``Retry-After`` has passed on the
  business clock (so a test that moves the simulator 600 s forward sees calls resume).
- **Circuit breaker**: after ``threshold`` failures in a row (5xx, timeouts, resets) the endpoint
  is open for a cooldown on the business clock; then one probe call is let through (half-open):
  success closes it, failure re-opens it with a doubled cooldown (capped). It recovers on its own.
- **Token bucket**: a client-side rate limit per endpoint (wall clock, Redis ``TIME``), so a batch
  of carts after closing time is smoothed before Amazon has to throttle us.

Pause and breaker check plus token take are one Lua script: one round trip per call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import redis

_ACQUIRE = """
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local capacity = tonumber(ARGV[3])
local probe_ttl = tonumber(ARGV[4])
local paused = tonumber(redis.call('GET', KEYS[1]) or '0')
if paused > now then return {'paused', tostring(paused - now), '0', '0'} end
local opened = tonumber(redis.call('HGET', KEYS[2], 'opened_until') or '0')
if opened > now then return {'open', tostring(opened - now), '0', '0'} end
local t = redis.call('TIME')
local wall = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tokens = tonumber(redis.call('HGET', KEYS[3], 'tokens') or tostring(capacity))
local stamp = tonumber(redis.call('HGET', KEYS[3], 'ts') or tostring(wall))
tokens = math.min(capacity, tokens + math.max(0, wall - stamp) * rate)
if tokens < 1 then
  redis.call('HSET', KEYS[3], 'tokens', tostring(tokens), 'ts', tostring(wall))
  redis.call('EXPIRE', KEYS[3], 3600)
  return {'rate', tostring((1 - tokens) / rate), '0', '0'}
end
redis.call('HSET', KEYS[3], 'tokens', tostring(tokens - 1), 'ts', tostring(wall))
redis.call('EXPIRE', KEYS[3], 3600)
local probe = '0'
if opened > 0 then
  if redis.call('SET', KEYS[4], '1', 'NX', 'EX', probe_ttl) then
    probe = '1'
  else
    return {'open', '1', '0', '0'}
  end
end
local failures = redis.call('HGET', KEYS[2], 'failures') or '0'
return {'ok', '0', failures, probe}
"""

_FAILURE = """
local now = tonumber(ARGV[1])
local threshold = tonumber(ARGV[2])
local base = tonumber(ARGV[3])
local cap = tonumber(ARGV[4])
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
redis.call('EXPIRE', KEYS[1], 86400)
local opened = tonumber(redis.call('HGET', KEYS[1], 'opened_until') or '0')
if opened > 0 then
  if now >= opened then
    local openings = redis.call('HINCRBY', KEYS[1], 'openings', 1)
    local cooldown = math.min(cap, base * 2 ^ (openings - 1))
    redis.call('HSET', KEYS[1], 'opened_until', tostring(now + cooldown))
    redis.call('DEL', KEYS[2])
    return 1
  end
  return 0
end
if failures >= threshold then
  redis.call('HSET', KEYS[1], 'opened_until', tostring(now + base), 'openings', 1)
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""

_PAUSE = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local until_at = tonumber(ARGV[1])
if until_at > current then
  redis.call('SET', KEYS[1], tostring(until_at), 'EX', tonumber(ARGV[2]))
end
return 1
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = "ok"  # ok | paused | open | rate
    wait_seconds: float = 0.0
    failures: int = 0
    probe: bool = False


@dataclass(frozen=True)
class RateLimit:
    per_second: float
    burst: float


class EndpointGuard:
    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "jwo:payments:",
        rate_limits: dict[str, RateLimit] | None = None,
        default_rate: RateLimit = RateLimit(200.0, 400.0),
        breaker_threshold: int = 5,
        breaker_cooldown: float = 30.0,
        breaker_max_cooldown: float = 300.0,
    ):
        self.redis = client
        self.prefix = prefix
        self.rate_limits = rate_limits or {}
        self.default_rate = default_rate
        self.breaker_threshold = breaker_threshold
        self.breaker_cooldown = breaker_cooldown
        self.breaker_max_cooldown = breaker_max_cooldown
        self._acquire = client.register_script(_ACQUIRE)
        self._failure = client.register_script(_FAILURE)
        self._pause = client.register_script(_PAUSE)

    def _keys(self, endpoint: str) -> list[str]:
        base = f"{self.prefix}{endpoint}:"
        return [base + "pause", base + "breaker", base + "bucket", base + "probe"]

    def acquire(self, endpoint: str, *, now: datetime) -> Verdict:
        limit = self.rate_limits.get(endpoint, self.default_rate)
        reason, wait, failures, probe = self._acquire(
            keys=self._keys(endpoint),
            args=[now.timestamp(), limit.per_second, limit.burst, 30],
        )
        reason = reason.decode() if isinstance(reason, bytes) else reason
        if reason != "ok":
            return Verdict(False, reason, float(wait))
        return Verdict(True, failures=int(failures), probe=probe in (b"1", "1"))

    def acquire_waiting(
        self, endpoint: str, *, clock: Callable[[], datetime], max_wait: float = 1.0
    ) -> Verdict:
        """``acquire``, waiting out a short rate-limit gap (wall time, never business time)."""
        waited = 0.0
        while True:
            verdict = self.acquire(endpoint, now=clock())
            if verdict.allowed or verdict.reason != "rate" or waited >= max_wait:
                return verdict
            pause = min(verdict.wait_seconds, max_wait - waited) + 0.001
            time.sleep(pause)
            waited += pause

    def record_success(self, endpoint: str, verdict: Verdict) -> None:
        if verdict.failures or verdict.probe:
            keys = self._keys(endpoint)
            self.redis.delete(keys[1], keys[3])

    def record_failure(self, endpoint: str, *, now: datetime) -> bool:
        """Count a failure; return True when it opened (or re-opened) the breaker."""
        keys = self._keys(endpoint)
        opened = self._failure(
            keys=[keys[1], keys[3]],
            args=[
                now.timestamp(),
                self.breaker_threshold,
                self.breaker_cooldown,
                self.breaker_max_cooldown,
            ],
        )
        return bool(opened)

    def pause(self, endpoint: str, *, seconds: float, now: datetime) -> None:
        """Stop every worker calling ``endpoint`` until ``now + seconds`` (business time)."""
        until = now.timestamp() + max(0.0, seconds)
        # Redis expiry only collects garbage; the business clock decides when the pause ends.
        self._pause(keys=[self._keys(endpoint)[0]], args=[until, int(seconds) + 86400])

    def paused_until(self, endpoint: str) -> float | None:
        value = self.redis.get(self._keys(endpoint)[0])
        return float(value) if value is not None else None

    def breaker_state(self, endpoint: str) -> dict[str, str]:
        raw = self.redis.hgetall(self._keys(endpoint)[1])
        return {key.decode(): value.decode() for key, value in raw.items()}

    def clear(self) -> int:
        """Forget every pause, breaker and bucket (tests, or an operator after an incident)."""
        keys = list(self.redis.scan_iter(match=f"{self.prefix}*", count=500))
        return self.redis.delete(*keys) if keys else 0
