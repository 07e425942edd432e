"""The one-command demo, no external services: SQLite and a filesystem broker, here only."""

import os

from .env import env_str

_var = os.path.join(os.path.dirname(__file__), "..", "..", "var", "demo")
_var = os.path.abspath(_var)
os.makedirs(os.path.join(_var, "broker", "out"), exist_ok=True)
os.makedirs(os.path.join(_var, "broker", "processed"), exist_ok=True)
os.environ.setdefault("SECRET_KEY", "demo-only-not-secret")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_var}/jwo_store.sqlite3")
os.environ.setdefault("CELERY_BROKER_URL", "filesystem://")
os.environ.setdefault("DJANGO_DEBUG", "true")

from .base import *  # noqa: E402, F403

DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = False  # noqa: F405
DATABASES["default"]["OPTIONS"] = {"timeout": 30, "init_command": "PRAGMA journal_mode=WAL;"}  # noqa: F405
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": os.path.join(_var, "broker", "out"),
    "data_folder_out": os.path.join(_var, "broker", "out"),
    "processed_folder": os.path.join(_var, "broker", "processed"),
    "store_processed": False,
}
DEMO_VAR_DIR = env_str("DEMO_VAR_DIR", _var)
WHITENOISE_USE_FINDERS = True  # serve the admin's static files without collectstatic
WHITENOISE_AUTOREFRESH = True
