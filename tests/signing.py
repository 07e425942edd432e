"""Sign test requests the way Amazon (or the simulator) signs connector calls (contract §0.7)."""

from django.conf import settings

from jwo_client import wire
from jwo_client.sigv4 import Credentials, sign_request

TEST_KEY_ID = "AKIDAMAZONTEST"


def amazon_credentials() -> Credentials:
    return Credentials(TEST_KEY_ID, settings.JWO_INBOUND_KEYS[TEST_KEY_ID])


def signed_headers(path: str, body: bytes, *, host: str = "testserver", **kwargs) -> dict:
    return sign_request(
        method="POST",
        url=f"http://{host}{path}",
        body=body,
        credentials=amazon_credentials(),
        region=settings.JWO_AWS_REGION,
        **kwargs,
    )


def django_headers(headers: dict) -> dict:
    """Turn HTTP headers into the Django test client's ``HTTP_*`` keyword arguments."""
    converted = {}
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            converted["content_type"] = value
        else:
            converted[f"HTTP_{key}"] = value
    return converted


def amazon_post(client, path: str, payload, **sign_kwargs):
    """POST a signed JSON body (dict/list → decimal-exact JSON, bytes as given) to ``path``."""
    body = payload if isinstance(payload, bytes) else wire.dumps(payload)
    headers = signed_headers(path, body, **sign_kwargs)
    kwargs = django_headers(headers)
    kwargs.setdefault("content_type", "application/json")
    return client.generic("POST", path, body, **kwargs)
