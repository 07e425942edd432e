"""Settings for the Celery workers and racer processes the multi-process tests start.

The test settings, plus a short broker visibility timeout (so a message held by a killed worker
comes back in seconds, as in the kill tests) and persistent database connections.
"""

import os

from jwo_store.settings.test import *  # noqa: F403
from jwo_store.settings.test import DATABASES

VISIBILITY_TIMEOUT = int(os.environ.get("PAYMENTS_TEST_VISIBILITY_TIMEOUT", "10"))
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": VISIBILITY_TIMEOUT}
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 2.0
DATABASES["default"]["CONN_MAX_AGE"] = 60
