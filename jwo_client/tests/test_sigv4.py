"""SigV4 signing and verification (contract §0.7), checked against an independent implementation
and AWS's published test vectors so that a symmetric bug cannot hide."""

import datetime as dt
import hashlib
import hmac

import pytest

from jwo_client import sigv4
from jwo_client.sigv4 import Credentials, SignatureError

NOW = dt.datetime(2025, 5, 2, 17, 12, 3, tzinfo=dt.UTC)
CREDS = Credentials("AKIARETAILEREXAMPLE", "retailer-secret")
KEYS = {"AKIARETAILEREXAMPLE": "retailer-secret"}
URL = "http://127.0.0.1:8765/v1/adjust/charge"
BODY = b'{"storeId":"STORE-001","shoppingTripId":"t-1","amount":{"amount":23.47,"code":"USD"}}'


def _sign(**overrides):
    args = {
        "method": "POST",
        "url": URL,
        "body": BODY,
        "credentials": CREDS,
        "region": "us-east-1",
        "now": NOW,
    }
    args.update(overrides)
    return sigv4.sign_request(**args)


def _verify(headers, **overrides):
    args = {
        "method": "POST",
        "path": "/v1/adjust/charge",
        "headers": headers,
        "body": BODY,
        "keys": KEYS,
        "region": "us-east-1",
        "now": NOW,
    }
    args.update(overrides)
    return sigv4.verify_request(**args)


def _independent_signature(method, path, headers, signed, body, secret, region, service, amz_date):
    canonical_headers = "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in signed)
    canonical = "\n".join(
        [method, path, "", canonical_headers, ";".join(signed), hashlib.sha256(body).hexdigest()]
    )
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = f"AWS4{secret}".encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def test_sign_request_headers_and_scope():
    """CONN-ADJ: host, x-amz-date and content-type are signed with service execute-api."""
    headers = _sign()
    assert headers["X-Amz-Date"] == "20250502T171203Z"
    assert headers["Host"] == "127.0.0.1:8765"
    assert headers["Content-Type"] == "application/json"
    auth = headers["Authorization"]
    assert auth.startswith(
        "AWS4-HMAC-SHA256 Credential=AKIARETAILEREXAMPLE/20250502/us-east-1/execute-api/"
        "aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, Signature="
    )
    assert "X-Amz-Security-Token" not in headers


def test_sign_request_matches_an_independent_implementation():
    headers = _sign()
    lowered = {k.lower(): v for k, v in headers.items()}
    expected = _independent_signature(
        "POST",
        "/v1/adjust/charge",
        lowered,
        ["content-type", "host", "x-amz-date"],
        BODY,
        "retailer-secret",
        "us-east-1",
        "execute-api",
        "20250502T171203Z",
    )
    assert headers["Authorization"].endswith(f"Signature={expected}")


def test_sign_request_with_token_signs_the_token():
    headers = _sign(credentials=Credentials("ASIATEMP", "s", token="tok123"))
    assert headers["X-Amz-Security-Token"] == "tok123"
    assert "x-amz-security-token" in headers["Authorization"]
    assert _verify(headers, keys={"ASIATEMP": "s"}) == "ASIATEMP"


def test_default_port_is_not_in_host():
    assert _sign(url="https://us-east-1.payments.amazonphysicalstores.com/v1/refund")["Host"] == (
        "us-east-1.payments.amazonphysicalstores.com"
    )


def test_signature_from_sign_request_verifies():
    assert _verify(_sign()) == "AKIARETAILEREXAMPLE"


def test_verify_is_case_insensitive_on_header_names():
    headers = {k.upper(): v for k, v in _sign().items()}
    assert _verify(headers) == "AKIARETAILEREXAMPLE"


def test_skew_within_300_seconds_passes():
    assert _verify(_sign(), now=NOW + dt.timedelta(seconds=300))
    assert _verify(_sign(), now=NOW - dt.timedelta(seconds=300))


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda h, kw: kw.update(body=BODY + b" "), "signature mismatch"),
        (lambda h, kw: kw.update(path="/v1/capture/charge"), "signature mismatch"),
        (lambda h, kw: h.update({"Host": "evil.example:8765"}), "signature mismatch"),
        (lambda h, kw: h.update({"Content-Type": "text/plain"}), "signature mismatch"),
        (lambda h, kw: kw.update(keys={"OTHER": "x"}), "unknown access key id"),
        (lambda h, kw: kw.update(keys={"AKIARETAILEREXAMPLE": "wrong"}), "signature mismatch"),
        (lambda h, kw: kw.update(region="eu-west-1"), "wrong region"),
        (lambda h, kw: kw.update(service="s3"), "wrong service"),
        (lambda h, kw: kw.update(now=NOW + dt.timedelta(seconds=301)), "skew"),
        (lambda h, kw: kw.update(now=NOW - dt.timedelta(seconds=301)), "skew"),
        (lambda h, kw: h.pop("Authorization"), "missing Authorization"),
        (lambda h, kw: h.pop("X-Amz-Date"), "missing"),
        (lambda h, kw: h.update({"Authorization": "Bearer abc"}), "malformed"),
        (lambda h, kw: h.update({"X-Amz-Date": "20250502T171204Z"}), "signature mismatch"),
        (lambda h, kw: h.update({"X-Amz-Date": "20250503T171203Z"}), "scope date"),
    ],
)
def test_verify_rejects_tampering(mutate, reason):
    """VAL-CONN-001: bad signature, unknown key, wrong scope or skew > 300 s are refused."""
    headers = _sign()
    kwargs = {}
    mutate(headers, kwargs)
    with pytest.raises(SignatureError) as caught:
        _verify(headers, **kwargs)
    assert reason in caught.value.reason


def test_verify_requires_host_and_date_to_be_signed():
    headers = _sign()
    lowered = {k.lower(): v for k, v in headers.items()}
    signature = _independent_signature(
        "POST",
        "/v1/adjust/charge",
        lowered,
        ["content-type", "host"],
        BODY,
        "retailer-secret",
        "us-east-1",
        "execute-api",
        "20250502T171203Z",
    )
    headers["Authorization"] = (
        "AWS4-HMAC-SHA256 Credential=AKIARETAILEREXAMPLE/20250502/us-east-1/execute-api/"
        "aws4_request, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )
    with pytest.raises(SignatureError, match="x-amz-date is not signed"):
        _verify(headers)


def test_verify_refuses_a_content_sha256_header_that_does_not_match_the_body():
    fake = hashlib.sha256(b"other").hexdigest()
    headers = _sign(headers={"X-Amz-Content-SHA256": fake}, body=b"other")
    with pytest.raises(SignatureError, match="x-amz-content-sha256"):
        _verify(headers)


def test_verify_accepts_a_signature_computed_without_botocore():
    headers = {
        "Host": "127.0.0.1:8765",
        "X-Amz-Date": "20250502T171203Z",
        "Content-Type": "application/json",
    }
    lowered = {k.lower(): v for k, v in headers.items()}
    signature = _independent_signature(
        "POST",
        "/v1/adjust/charge",
        lowered,
        ["content-type", "host", "x-amz-date"],
        BODY,
        "retailer-secret",
        "us-east-1",
        "execute-api",
        "20250502T171203Z",
    )
    headers["Authorization"] = (
        "AWS4-HMAC-SHA256 Credential=AKIARETAILEREXAMPLE/20250502/us-east-1/execute-api/"
        "aws4_request, "
        f"SignedHeaders=content-type;host;x-amz-date, Signature={signature}"
    )
    assert _verify(headers) == "AKIARETAILEREXAMPLE"


# AWS SigV4 test suite, "get-vanilla" and "post-vanilla" (published by AWS).
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
AWS_NOW = dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("method", "signature"),
    [
        ("GET", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("POST", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    ],
)
def test_aws_published_vectors(method, signature):
    headers = {
        "Host": "example.amazonaws.com",
        "X-Amz-Date": "20150830T123600Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
        f"aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}",
    }
    assert (
        sigv4.verify_request(
            method=method,
            path="/",
            headers=headers,
            body=b"",
            keys={"AKIDEXAMPLE": AWS_SECRET},
            region="us-east-1",
            service="service",
            now=AWS_NOW,
        )
        == "AKIDEXAMPLE"
    )
    lowered = {k.lower(): v for k, v in headers.items()}
    assert (
        _independent_signature(
            method,
            "/",
            lowered,
            ["host", "x-amz-date"],
            b"",
            AWS_SECRET,
            "us-east-1",
            "service",
            "20150830T123600Z",
        )
        == signature
    )
    signed = sigv4.sign_request(
        method=method,
        url="https://example.amazonaws.com/",
        body=b"",
        credentials=Credentials("AKIDEXAMPLE", AWS_SECRET),
        region="us-east-1",
        service="service",
        now=AWS_NOW,
        headers={"Content-Type": ""},
    )
    assert signed["X-Amz-Date"] == "20150830T123600Z"


def test_parse_key_pairs():
    assert sigv4.parse_key_pairs("a:1, b:2") == {"a": "1", "b": "2"}
    assert sigv4.parse_key_pairs("") == {}
    assert sigv4.parse_key_pairs("id:sec:ret") == {"id": "sec:ret"}
    for bad, message in [
        ("a", "no ':'"),
        (":x", "empty access key id"),
        ("a:", "empty secret"),
        ("a:1,,b:2", "pair 2 is empty"),
        ("a:1,a:2", "twice"),
    ]:
        with pytest.raises(ValueError, match=message):
            sigv4.parse_key_pairs(bad)


def test_credentials_repr_hides_the_secret():
    assert "retailer-secret" not in repr(CREDS)


def test_verify_refuses_a_security_token_that_is_sent_but_not_signed():
    """§0.7: with temporary credentials ``x-amz-security-token`` is sent *and signed*; a token
    added outside the signature could be swapped by anyone on the path."""
    headers = _sign()
    headers["X-Amz-Security-Token"] = "injected"
    with pytest.raises(SignatureError, match="x-amz-security-token is not signed"):
        _verify(headers)


def test_verify_headers_checks_everything_that_does_not_need_the_body():
    """For a body too large to read, the key, scope and skew are still checked (403 first)."""
    headers = _sign()
    assert sigv4.verify_headers(headers=headers, keys=KEYS, region="us-east-1", now=NOW) == (
        "AKIARETAILEREXAMPLE"
    )
    for broken, reason in (
        ({**headers, "Authorization": "Bearer x"}, "malformed"),
        (headers, "skew"),
    ):
        with pytest.raises(SignatureError, match=reason):
            sigv4.verify_headers(
                headers=broken,
                keys=KEYS,
                region="us-east-1",
                now=NOW + dt.timedelta(seconds=301 if broken is headers else 0),
            )


def test_verify_takes_ascii_digits_only_in_x_amz_date():
    headers = _sign()
    headers["X-Amz-Date"] = "２0250502T171203Z"
    with pytest.raises(SignatureError, match="malformed x-amz-date"):
        _verify(headers)
