"""Read settings from the environment, 12-factor style.

Every reader raises ``ImproperlyConfigured`` with one line that names the setting, so a missing or
malformed variable stops start-up with a message an operator can act on.
"""

import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

_UNSET = object()


def _raw(name: str, default):
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        if default is _UNSET:
            raise ImproperlyConfigured(
                f"{name} is not set; it is required (see README, Configuration)"
            )
        return default
    return value.strip()


def env_str(name: str, default=_UNSET) -> str:
    return _raw(name, default)


def env_int(name: str, default=_UNSET, *, minimum: int | None = None) -> int:
    value = _raw(name, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_bool(name: str, default=_UNSET) -> bool:
    value = _raw(name, default)
    if isinstance(value, bool):
        return value
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")


def env_list(name: str, default=_UNSET) -> list[str]:
    value = _raw(name, default)
    if isinstance(value, list):
        return value
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, default=_UNSET, *, schemes: tuple[str, ...] = ("http", "https")) -> str:
    value = _raw(name, default)
    if value is None:
        return value
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        allowed = ", ".join(schemes)
        raise ImproperlyConfigured(f"{name} must be a URL with scheme {allowed}, got {value!r}")
    return value.rstrip("/")


def env_choice(name: str, choices: tuple[str, ...], default=_UNSET) -> str:
    value = _raw(name, default)
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_key_pairs(name: str, default=_UNSET) -> dict[str, str]:
    """``id:secret,id2:secret2`` → {id: secret}. Secrets are never echoed in errors."""
    value = _raw(name, default)
    if isinstance(value, dict):
        return value
    pairs: dict[str, str] = {}
    for index, item in enumerate(part.strip() for part in value.split(",") if part.strip()):
        key_id, sep, secret = item.partition(":")
        if not sep or not key_id.strip() or not secret.strip():
            raise ImproperlyConfigured(
                f"{name} entry {index + 1} must look like accessKeyId:secret"
            )
        pairs[key_id.strip()] = secret.strip()
    return pairs


def env_database_url(name: str = "DATABASE_URL", default=_UNSET) -> dict:
    import dj_database_url

    value = _raw(name, default)
    try:
        config = dj_database_url.parse(value, conn_max_age=600, conn_health_checks=True)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {error}") from None
    if not config.get("ENGINE"):
        raise ImproperlyConfigured(f"{name} has an unsupported scheme")
    return config
