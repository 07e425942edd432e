"""The Celery app. Configuration lives in Django settings (CELERY_*); the schedule in beat.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jwo_store.settings.local")

app = Celery("jwo_store")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _install_beat_schedule(sender, **kwargs):
    from .beat import BEAT_SCHEDULE

    sender.conf.beat_schedule = BEAT_SCHEDULE
