"""The Celery app. Configuration lives in Django settings (CELERY_*); the schedule in beat.py."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jwo_store.settings.local")

app = Celery("jwo_store")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Keep a worker's database connection from one task to the next, as a web process keeps it from
# one request to the next. Without this, Celery's Django fix-up closes every connection before
# and after each task, and each task pays a new PostgreSQL connection (a backend fork, the
# handshake and Django's session set-up): most of a short task's cost. The fix-up now closes
# them only every DB_REUSE_MAX tasks; in between, ``_release_stale_connections`` does what
# Django does around a request: drop a connection that broke, or that outlived CONN_MAX_AGE
# (the next query opens a fresh one; CONN_HEALTH_CHECKS checks a reused one before use).
app.conf.CELERY_DB_REUSE_MAX = 1000


@task_prerun.connect
@task_postrun.connect
def _release_stale_connections(**kwargs):
    from django.db import close_old_connections

    close_old_connections()


@worker_process_init.connect
def _warm_worker_process(**kwargs):
    """Build this process's per-process clients before its first task (not during one)."""
    from django.apps import apps

    for config in apps.get_app_configs():
        warm = getattr(config, "warm_worker_process", None)
        if warm is not None:
            warm()


@app.on_after_finalize.connect
def _install_beat_schedule(sender, **kwargs):
    from .beat import BEAT_SCHEDULE

    sender.conf.beat_schedule = BEAT_SCHEDULE
