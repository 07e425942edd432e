"""Settings shared by every environment. Values come from the environment (see README)."""

from pathlib import Path

from kombu import Exchange, Queue

from .env import (
    env_bool,
    env_choice,
    env_database_url,
    env_int,
    env_key_pairs,
    env_list,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env_str("SECRET_KEY")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "core",
    "trips",
    "catalog",
    "ordering",
    "gate",
    "payments",
    "debt",
    "connector",
    "reporting",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.request_log.RequestLogMiddleware",
]

ROOT_URLCONF = "jwo_store.urls"
WSGI_APPLICATION = "jwo_store.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env_database_url("DATABASE_URL")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"

# --- Email (Django 6.1 MAILERS) ----------------------------------------------------------------
EMAIL_MAILER_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
MAILERS = {"default": {"BACKEND": EMAIL_MAILER_BACKEND}}
if EMAIL_MAILER_BACKEND.endswith("smtp.EmailBackend"):
    MAILERS["default"]["OPTIONS"] = {
        "host": env_str("EMAIL_HOST"),
        "port": env_int("EMAIL_PORT", 587, minimum=1),
        "username": env_str("EMAIL_HOST_USER", ""),
        "password": env_str("EMAIL_HOST_PASSWORD", ""),
        "use_tls": env_bool("EMAIL_USE_TLS", True),
        "timeout": 10,
    }
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "receipts@jwo-store.invalid")

# --- Amazon JWO (names fixed by the contract, §0.7) --------------------------------------------
JWO_PAYMENT_BASE_URL = env_url("JWO_PAYMENT_BASE_URL", "http://127.0.0.1:8790")
JWO_AWS_REGION = env_str("JWO_AWS_REGION", "us-east-1")
JWO_INBOUND_AUTH = env_choice("JWO_INBOUND_AUTH", ("sigv4", "trust_gateway"), "sigv4")
JWO_INBOUND_KEYS = env_key_pairs("JWO_INBOUND_KEYS", {})
JWO_EVENT_API_KEYS = env_list("JWO_EVENT_API_KEYS", [])
JWO_EVENT_SOURCES = env_list("JWO_EVENT_SOURCES", ["jwo.simulator", "aws.jwo"])
JWO_CLOCK_SOURCE = env_url("JWO_CLOCK_SOURCE", None)
# Outbound credentials come from the standard AWS chain (AWS_ACCESS_KEY_ID, ...): see jwo_client.

# --- Payments lifecycle (payments app; see docs/payments.md) ----------------------------------
PAYMENTS_READ_TIMEOUT_SECONDS = env_int("PAYMENTS_READ_TIMEOUT_SECONDS", 10, minimum=1)
PAYMENTS_MAX_ATTEMPTS = env_int("PAYMENTS_MAX_ATTEMPTS", 25, minimum=1)
PAYMENTS_LEASE_SECONDS = env_int("PAYMENTS_LEASE_SECONDS", 90, minimum=30)
PAYMENTS_REDIS_URL = env_str(
    "PAYMENTS_REDIS_URL", env_str("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
)
PAYMENTS_REDIS_PREFIX = env_str("PAYMENTS_REDIS_PREFIX", "jwo:payments:")
PAYMENTS_RATE_PER_SECOND = env_int("PAYMENTS_RATE_PER_SECOND", 200, minimum=1)
PAYMENTS_RATE_BURST = env_int("PAYMENTS_RATE_BURST", 400, minimum=1)
PAYMENTS_RATE_LIMITS = env_list("PAYMENTS_RATE_LIMITS", [])  # e.g. "capture=50:100,adjust=80"
PAYMENTS_BREAKER_THRESHOLD = env_int("PAYMENTS_BREAKER_THRESHOLD", 5, minimum=1)
PAYMENTS_BREAKER_COOLDOWN_SECONDS = env_int("PAYMENTS_BREAKER_COOLDOWN_SECONDS", 30, minimum=1)
PAYMENTS_BREAKER_MAX_COOLDOWN_SECONDS = env_int(
    "PAYMENTS_BREAKER_MAX_COOLDOWN_SECONDS", 300, minimum=1
)
PAYMENTS_DECLINE_SEARCH_MODE = env_choice(
    "PAYMENTS_DECLINE_SEARCH_MODE", ("BISECT", "STEPS"), "BISECT"
)
PAYMENTS_DECLINE_SEARCH_STEPS = env_list("PAYMENTS_DECLINE_SEARCH_STEPS", ["0.75", "0.5", "0.25"])
PAYMENTS_JANITOR_STALE_SECONDS = env_int("PAYMENTS_JANITOR_STALE_SECONDS", 900, minimum=60)
PAYMENTS_CAPTURE_OUTCOME_HOURS = env_int("PAYMENTS_CAPTURE_OUTCOME_HOURS", 24, minimum=1)
PAYMENTS_DEADLINE_GRACE_SECONDS = env_int("PAYMENTS_DEADLINE_GRACE_SECONDS", 3600, minimum=0)
PAYMENTS_REPORT_ALERT_SECONDS = env_int("PAYMENTS_REPORT_ALERT_SECONDS", 3600, minimum=60)
# Deliver a trip's next call in the worker that recorded the previous answer (payments/chain.py).
PAYMENTS_CHAIN_CALLS = env_bool("PAYMENTS_CHAIN_CALLS", True)

# --- Ordering (Create Purchases, bad-cart queue) -----------------------------------------------
# Alert when a cart waits this long in the bad-cart queue, or a trip has had no cart this long.
JWO_CART_UNPRICED_ALERT_MINUTES = env_int("JWO_CART_UNPRICED_ALERT_MINUTES", 60, minimum=1)
JWO_CART_MISSING_ALERT_MINUTES = env_int("JWO_CART_MISSING_ALERT_MINUTES", 240, minimum=1)
# Unresolved bad carts are settled by store policy this long before the trip's settle-by time.
JWO_BAD_CART_SETTLE_LEAD_MINUTES = env_int("JWO_BAD_CART_SETTLE_LEAD_MINUTES", 10, minimum=0)
# A signed no-op endpoint for bench/ (never routed under the production settings module).
JWO_BENCH_ENDPOINTS = env_bool("JWO_BENCH_ENDPOINTS", False)

# --- Celery (payments-grade: nothing lost, nothing doubled) -----------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
# Longer than any task time limit and any countdown we use; long waits live in database rows
# (next_attempt_at), never in Celery countdowns.
CELERY_VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 3600, minimum=600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT}
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 5.0
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES = (
    Queue("realtime", Exchange("realtime"), routing_key="realtime"),
    Queue("payments", Exchange("payments"), routing_key="payments"),
    Queue("outbox", Exchange("outbox"), routing_key="outbox"),
    Queue("batch", Exchange("batch"), routing_key="batch"),
    Queue("default", Exchange("default"), routing_key="default"),
)
# Gate-side precomputation runs on "realtime"; payment calls and outbox delivery have their own
# queues; reports, imports and reconciliation run on "batch" so they never delay the others.
CELERY_TASK_ROUTES = {
    "gate.*": {"queue": "realtime"},
    "payments.*": {"queue": "payments"},
    "core.outbox.*": {"queue": "outbox"},
    "reporting.*": {"queue": "batch"},
    "debt.*": {"queue": "batch"},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / "var" / "celerybeat-schedule")

# --- REST framework ----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.DecimalJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["core.api.renderers.DecimalJSONRenderer"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exceptions.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": False,
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "jwo_store API",
    "DESCRIPTION": "Connector endpoints called by Amazon Just Walk Out, and operations endpoints.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
}

# --- Logging: JSON lines, PII scrubbed from every record ---------------------------------------
LOG_LEVEL = env_choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"scrub_pii": {"()": "core.logging.PiiScrubFilter"}},
    "formatters": {
        "json": {
            "()": "core.logging.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["scrub_pii"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
    },
}

# --- Bad debt (debt app; see docs/debt.md) ----------------------------------------------------
# The portal page a debt email links to (a signed token naming the shopper is appended).
DEBT_PORTAL_PAY_URL = env_url("DEBT_PORTAL_PAY_URL", "http://127.0.0.1:8000/portal/debts/pay")
# Where shoppers' emails come from: Amazon's Get Shopper Identity, through jwo_client.
DEBT_SHOPPER_EMAIL_LOOKUP = env_str(
    "DEBT_SHOPPER_EMAIL_LOOKUP", "debt.adapters.identity.PaymentServiceEmailLookup"
)
# A balance book to reconcile against (the simulator's base URL in tests and demos; Amazon has
# no such API, so it is unset in production).
DEBT_BALANCE_BOOK_URL = env_url("DEBT_BALANCE_BOOK_URL", None)

# --- Gate (gate app; see docs/gate.md) ---------------------------------------------------------
# Decisions are written with synchronous_commit off (no WAL flush per decision): see docs/gate.md.
GATE_SYNCHRONOUS_COMMIT = env_bool("JWO_GATE_SYNCHRONOUS_COMMIT", False)
# Budgets beyond the store's own (Store.gate_budget_ms): writing the decision, raising its alert.
GATE_WRITE_BUDGET_MS = env_int("JWO_GATE_WRITE_BUDGET_MS", 400, minimum=10)
GATE_ALERT_BUDGET_MS = env_int("JWO_GATE_ALERT_BUDGET_MS", 200, minimum=10)
# Most concurrent decisions of one process written in one statement and transaction (group
# commit, gate/services/group_commit.py).
GATE_GROUP_COMMIT_MAX = env_int("JWO_GATE_GROUP_COMMIT_MAX", 16, minimum=1)
