"""Settings from the environment: a bad or missing variable stops start-up with one clear line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args, env_overrides: dict, settings_module: str = "jwo_store.settings.base"):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JWO_", "DJANGO_"))}
    env.update({"DJANGO_SETTINGS_MODULE": settings_module, **env_overrides})
    for key, value in list(env_overrides.items()):
        if value is None:
            env.pop(key, None)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


BASE_ENV = {
    "SECRET_KEY": "k3J9-vQ2x!mZ8rT4pL7wN1bY6cH0sD5fG3jK8qW2eR7tY1uI9oP4aS6dF0gH",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/jwo_store",
}


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"DATABASE_URL": None}, "DATABASE_URL"),
        ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
        ({"JWO_PAYMENT_BASE_URL": "ftp://amazon"}, "JWO_PAYMENT_BASE_URL"),
        ({"JWO_INBOUND_AUTH": "maybe"}, "JWO_INBOUND_AUTH"),
        ({"JWO_INBOUND_KEYS": "justakey"}, "JWO_INBOUND_KEYS"),
        (
            {
                "EMAIL_PORT": "twenty-five",
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "smtp",
            },
            "EMAIL_PORT",
        ),
        ({"DJANGO_DEBUG": "perhaps"}, "DJANGO_DEBUG"),
        ({"CELERY_VISIBILITY_TIMEOUT": "60"}, "CELERY_VISIBILITY_TIMEOUT"),
    ],
)
def test_bad_setting_stops_start_up_with_one_line_naming_it(overrides, named):
    result = run_manage("check", env_overrides={**BASE_ENV, **overrides})
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error: ")
    assert named in lines[0]
    assert "Traceback" not in result.stderr


def test_inbound_key_secrets_are_never_echoed():
    result = run_manage(
        "check", env_overrides={**BASE_ENV, "JWO_INBOUND_KEYS": "good:secret-one,broken-secret-two"}
    )
    assert result.returncode == 2
    assert "secret-one" not in result.stderr and "broken-secret-two" not in result.stderr


def test_production_settings_pass_the_deploy_check_without_warnings():
    env = {
        **BASE_ENV,
        "ALLOWED_HOSTS": "backoffice.example.com",
        "JWO_PAYMENT_BASE_URL": "https://us-east-1.payments.amazonphysicalstores.com",
        "JWO_INBOUND_KEYS": "AKIDAMAZON:" + "s" * 40,
        "JWO_EVENT_API_KEYS": "k" * 40,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
    }
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env_overrides=env,
        settings_module="jwo_store.settings.production",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
