"""SigV4 signing and verification for both directions (contract §0.7), built on botocore.

``sign_request`` gives the headers for an outbound call. ``verify_request`` checks an inbound
call against configured key pairs and returns the access key id, or raises ``SignatureError``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials

ALGORITHM = "AWS4-HMAC-SHA256"
SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
REQUIRED_SIGNED_HEADERS = ("host", "x-amz-date")

_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[^,\s]+)\s*,\s*Signature=(?P<signature>[0-9a-f]{64})\s*$"
)
_DATE_RE = re.compile(r"^\d{8}T\d{6}Z$", re.ASCII)


class SignatureError(Exception):
    """The request's signature or credentials were rejected; ``reason`` says why (for logs)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(access_key={self.access_key!r}, secret_key='***')"


def _host_of(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    default = {"http": 80, "https": 443}.get(parts.scheme)
    if port is not None and port != default:
        host = f"{host}:{port}"
    return host


def _sign_with_botocore(
    request: AWSRequest, credentials: Credentials, region: str, service: str, timestamp: str
) -> str:
    auth = SigV4Auth(
        BotocoreCredentials(credentials.access_key, credentials.secret_key, credentials.token),
        service,
        region,
    )
    request.context["timestamp"] = timestamp
    auth._modify_request_before_signing(request)  # sets X-Amz-Date and the token header
    canonical = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical)
    signature = auth.signature(string_to_sign, request)
    auth._inject_signature_to_request(request, signature)
    return signature


def sign_request(
    *,
    method: str,
    url: str,
    body: bytes,
    credentials: Credentials,
    region: str,
    service: str = "execute-api",
    headers: dict[str, str] | None = None,
    now: dt.datetime | None = None,
) -> dict[str, str]:
    """Return the headers to send with ``body`` to ``url`` (Authorization, X-Amz-Date, Host…)."""
    moment = now or dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    all_headers = {"Content-Type": "application/json", "Host": _host_of(url)}
    for name, value in (headers or {}).items():
        for existing in [key for key in all_headers if key.lower() == name.lower()]:
            del all_headers[existing]
        all_headers[name] = value
    request = AWSRequest(method=method.upper(), url=url, data=body, headers=all_headers)
    timestamp = moment.astimezone(dt.UTC).strftime(SIGV4_TIMESTAMP)
    _sign_with_botocore(request, credentials, region, service, timestamp)
    return {name: str(value) for name, value in request.headers.items()}


def parse_key_pairs(text: str) -> dict[str, str]:
    """Parse ``id:secret,id2:secret2``; raise ``ValueError`` naming the problem."""
    keys: dict[str, str] = {}
    if text is None or not text.strip():
        return keys
    for position, raw in enumerate(text.split(","), start=1):
        pair = raw.strip()
        if not pair:
            raise ValueError(f"key pair {position} is empty")
        key_id, sep, secret = pair.partition(":")
        key_id, secret = key_id.strip(), secret.strip()
        if not sep:
            raise ValueError(f"key pair {position} has no ':' between id and secret")
        if not key_id:
            raise ValueError(f"key pair {position} has an empty access key id")
        if not secret:
            raise ValueError(f"key pair {position} ({key_id}) has an empty secret")
        if key_id in keys:
            raise ValueError(f"access key id {key_id} is listed twice")
        keys[key_id] = secret
    return keys


def parse_key_pair(text: str) -> Credentials:
    """Parse a single ``id:secret`` pair."""
    pairs = parse_key_pairs(text)
    if len(pairs) != 1:
        raise ValueError("expected exactly one id:secret pair")
    key_id, secret = next(iter(pairs.items()))
    return Credentials(key_id, secret)


@dataclass(frozen=True)
class _SignedHeaders:
    key_id: str
    secret: str
    region: str
    service: str
    amz_date: str
    signed: str
    signature: str
    lowered: dict[str, str]


def _check_headers(
    headers: Mapping[str, str],
    keys: Mapping[str, str],
    region: str,
    service: str,
    now: dt.datetime,
    max_skew_seconds: int,
) -> _SignedHeaders:
    """Every check that does not need the body: header syntax, key, scope, signed set, skew."""
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        lowered[name.lower()] = value
    authorization = lowered.get("authorization")
    if not authorization:
        raise SignatureError("missing Authorization header")
    match = _AUTH_RE.match(authorization.strip())
    if match is None:
        raise SignatureError("malformed Authorization header")
    credential_parts = match["credential"].split("/")
    if len(credential_parts) != 5 or credential_parts[4] != "aws4_request":
        raise SignatureError("malformed credential scope")
    key_id, scope_date, scope_region, scope_service, _ = credential_parts
    secret = keys.get(key_id)
    if secret is None:
        raise SignatureError(f"unknown access key id {key_id}")
    signed_names = match["signed"].split(";")
    if signed_names != sorted(signed_names) or len(set(signed_names)) != len(signed_names):
        raise SignatureError("SignedHeaders not sorted or repeated")
    if any(name != name.lower() for name in signed_names):
        raise SignatureError("SignedHeaders not lowercase")
    for required in REQUIRED_SIGNED_HEADERS:
        if required not in signed_names:
            raise SignatureError(f"{required} is not signed")
    if "x-amz-security-token" in lowered and "x-amz-security-token" not in signed_names:
        raise SignatureError("x-amz-security-token is not signed")
    for name in signed_names:
        if name not in lowered:
            raise SignatureError(f"signed header {name} is missing")
    amz_date = lowered["x-amz-date"].strip()
    if not _DATE_RE.fullmatch(amz_date):
        raise SignatureError("malformed x-amz-date")
    try:
        signed_at = dt.datetime.strptime(amz_date, SIGV4_TIMESTAMP).replace(tzinfo=dt.UTC)
    except ValueError as error:
        raise SignatureError("malformed x-amz-date") from error
    if scope_date != amz_date[:8]:
        raise SignatureError("credential scope date differs from x-amz-date")
    if scope_region != region:
        raise SignatureError(f"wrong region {scope_region}")
    if scope_service != service:
        raise SignatureError(f"wrong service {scope_service}")
    if abs((now - signed_at).total_seconds()) > max_skew_seconds:
        raise SignatureError("x-amz-date outside the allowed clock skew")
    return _SignedHeaders(
        key_id=key_id,
        secret=secret,
        region=scope_region,
        service=scope_service,
        amz_date=amz_date,
        signed=match["signed"],
        signature=match["signature"],
        lowered=lowered,
    )


def verify_headers(
    *,
    headers: Mapping[str, str],
    keys: Mapping[str, str],
    region: str,
    service: str = "execute-api",
    now: dt.datetime,
    max_skew_seconds: int = 300,
) -> str:
    """The checks of ``verify_request`` that need no body (for a body refused unread as too
    large); return the access key id or raise ``SignatureError``. Not a full verification."""
    return _check_headers(headers, keys, region, service, now, max_skew_seconds).key_id


def verify_request(
    *,
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    keys: Mapping[str, str],
    region: str,
    service: str = "execute-api",
    now: dt.datetime,
    max_skew_seconds: int = 300,
) -> str:
    """Verify a SigV4-signed request; return its access key id or raise ``SignatureError``."""
    checked = _check_headers(headers, keys, region, service, now, max_skew_seconds)
    lowered = checked.lowered
    signed_names = checked.signed.split(";")
    body_hash = hashlib.sha256(body).hexdigest()
    if "x-amz-content-sha256" in signed_names and not hmac.compare_digest(
        lowered["x-amz-content-sha256"].strip(), body_hash
    ):
        raise SignatureError("x-amz-content-sha256 does not match the body")

    signed_headers = {name: lowered[name] for name in signed_names}
    request = AWSRequest(
        method=method.upper(),
        url=f"http://{lowered['host'].strip()}{path}",
        data=body,
        headers=signed_headers,
    )
    request.context["timestamp"] = checked.amz_date
    auth = SigV4Auth(
        BotocoreCredentials(checked.key_id, checked.secret), checked.service, checked.region
    )
    canonical = auth.canonical_request(request)
    if auth.signed_headers(auth.headers_to_sign(request)) != checked.signed:
        raise SignatureError("signed header set mismatch")
    expected = auth.signature(auth.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, checked.signature):
        raise SignatureError("signature mismatch")
    return checked.key_id
