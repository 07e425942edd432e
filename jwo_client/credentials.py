"""Outbound SigV4 credentials from the standard AWS chain (contract §0.7).

``AwsChainCredentials`` asks botocore's credential resolver (environment variables
``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``, a shared profile,
a container or instance role …) once, then reads frozen credentials before every call so that
temporary credentials are refreshed by botocore when they near expiry. No network at import.
"""

from __future__ import annotations

import threading
from typing import Protocol

from .errors import NoCredentials
from .sigv4 import Credentials


class CredentialsProvider(Protocol):
    def get(self) -> Credentials: ...


class StaticCredentials:
    """Fixed credentials (tests, or a caller that resolves them itself)."""

    def __init__(self, access_key: str, secret_key: str, token: str | None = None):
        self._credentials = Credentials(access_key, secret_key, token)

    def get(self) -> Credentials:
        return self._credentials

    def __repr__(self) -> str:
        return f"StaticCredentials({self._credentials.access_key!r})"


class AwsChainCredentials:
    """Credentials resolved by botocore's chain, refreshed transparently when temporary."""

    def __init__(self, session=None, profile: str | None = None):
        self._session = session
        self._profile = profile
        self._resolved = None
        self._lock = threading.Lock()

    def _resolve(self):
        if self._resolved is None:
            with self._lock:
                if self._resolved is None:
                    import botocore.session

                    session = self._session or botocore.session.Session(profile=self._profile)
                    resolved = session.get_credentials()
                    if resolved is None:
                        raise NoCredentials(
                            "no AWS credentials found (AWS_ACCESS_KEY_ID, a profile or a role)"
                        )
                    self._resolved = resolved
        return self._resolved

    def get(self) -> Credentials:
        frozen = self._resolve().get_frozen_credentials()
        if not frozen.access_key or not frozen.secret_key:
            raise NoCredentials("the AWS credential chain returned empty credentials")
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token or None)

    def __repr__(self) -> str:
        return "AwsChainCredentials()"
