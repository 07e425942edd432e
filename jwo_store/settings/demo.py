"""The one-command demo (``bin/demo``): embedded PostgreSQL and Redis started by demo/launch.py."""

import os

os.environ.setdefault("SECRET_KEY", "demo-only-not-secret")
os.environ.setdefault("DJANGO_DEBUG", "true")

from .base import *  # noqa: F403
from .env import env_str

DEMO_VAR_DIR = env_str("DEMO_VAR_DIR", str(BASE_DIR / "var" / "demo"))  # noqa: F405
WHITENOISE_USE_FINDERS = True  # serve the admin's static files without collectstatic
WHITENOISE_AUTOREFRESH = True
