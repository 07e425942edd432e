"""Developer machine: PostgreSQL and Redis on loopback, defaults for everything else."""

import os

os.environ.setdefault("SECRET_KEY", "local-development-only-not-secret")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/jwo_store")
os.environ.setdefault("DJANGO_DEBUG", "true")

from .base import *  # noqa: F403
