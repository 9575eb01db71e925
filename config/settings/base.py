"""Settings shared by every environment; everything that differs comes from the environment."""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from config.redis_url import redis_key_prefix, redis_url_with_db

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "strawberry_django",
    "accounts",
    "devices",
    "grid",
    "planner.apps.PlannerConfig",
    "graphql_api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (the admin's, GraphiQL's, the dashboard's) from the ASGI app itself.
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# GraphQL over HTTP and device ingest run with this instead (see config/middleware.py).
API_MIDDLEWARE = ["config.middleware.APIGuardMiddleware"]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'gridtwin.sqlite3'}"),
}
# 0 under ASGI: a persistent connection is kept per request thread and they pile up;
# the web process pools instead (DB_POOL below; PgBouncer in front also works).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DB_POOL", default=False
):
    # The web process runs each request's ORM work in a fresh thread (Django's ASGI handler),
    # so without a pool every request would open, and fork, a new PostgreSQL backend.
    # Off by default: Celery's prefork children must not inherit a parent's pool.
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps the connections
    DATABASES["default"]["OPTIONS"] = {
        "pool": {
            "min_size": env.int("DB_POOL_MIN", default=2),
            "max_size": env.int("DB_POOL_MAX", default=16),
            "timeout": 10,
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share the file: wait for locks, write-ahead log for concurrency.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
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
# `python manage.py collectstatic` fills it (the image does at build); without it (DEBUG, or
# SERVESTATIC_USE_FINDERS) files are served from the apps' own static directories.
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed copies, names unchanged: GraphiQL's vendored files keep the bytes their
    # integrity attributes name (a manifest storage would rewrite their source-map comments).
    "staticfiles": {"BACKEND": "servestatic.storage.CompressedStaticFilesStorage"},
}
SERVESTATIC_USE_FINDERS = env.bool("SERVESTATIC_USE_FINDERS", default=DEBUG)

# Redis: database 0 for the Celery broker (needs noeviction), database 1 for live state and
# caches (volatile keys with TTLs). REDIS_URL names the server; the databases are fixed here.
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
REDIS_STATE_URL = env.str("REDIS_STATE_URL", default="") or redis_url_with_db(REDIS_URL, 1)

# Every Redis key and pub/sub channel of this deployment starts with this prefix: live values,
# the farm's locks, caches (rate limits), Celery's queues and results. Deployments sharing one
# Redis (or a test run beside a development server) keep apart by it. Names are built by
# devices/live/keys.py (and Celery, under `{prefix}celery:`), which read it at each call.
REDIS_KEY_PREFIX = redis_key_prefix(env.str("REDIS_KEY_PREFIX", default="gridtwin:"))

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_STATE_URL,
        "KEY_FUNCTION": "devices.live.keys.cache_key",
    }
}

# JWT: short-lived access token, rotating refresh token.
JWT_ACCESS_TOKEN_LIFETIME = timedelta(seconds=env.int("JWT_ACCESS_TOKEN_SECONDS", default=15 * 60))
JWT_REFRESH_TOKEN_LIFETIME = timedelta(
    seconds=env.int("JWT_REFRESH_TOKEN_SECONDS", default=7 * 24 * 3600)
)
# The browser's refresh cookie is sent over HTTPS only, unless DEBUG (`make run` on http).
REFRESH_COOKIE_SECURE = env.bool("REFRESH_COOKIE_SECURE", default=not DEBUG)
JWT_ISSUER = env.str("JWT_ISSUER", default="gridtwin")
JWT_AUDIENCE = env.str("JWT_AUDIENCE", default="gridtwin-api")
JWT_SIGNING_KEY = env.str("JWT_SIGNING_KEY", default="") or SECRET_KEY

# Login throttling: failures allowed per username and per client address in a window
# (accounts/throttle.py).
LOGIN_FAILURE_RATE = env.str("LOGIN_FAILURE_RATE", default="5/m")
RATELIMIT_USE_CACHE = "default"
# The proxies trusted to say who the client is (addresses or networks, comma-separated; none by
# default). The web process gives the same list to uvicorn (--forwarded-allow-ips), which then
# takes the client from X-Forwarded-For; CLIENT_IP_HEADER may name another header a trusted
# proxy sets (e.g. HTTP_X_REAL_IP). Either way the client is the right-most hop that is not a
# trusted proxy (accounts/auth.py), so a client cannot choose its own address.
FORWARDED_ALLOW_IPS = env.list("FORWARDED_ALLOW_IPS", default=[])
CLIENT_IP_HEADER = env.str("CLIENT_IP_HEADER", default="REMOTE_ADDR")

# The simulation tick.
TICK_SECONDS = env.int("TICK_SECONDS", default=60)
# The farm: homes per simulate_shard task, ticks between PostgreSQL checkpoints of storage
# levels, and the seed of the deterministic draws (clouds, generator jitter).
SIM_SHARD_HOMES = env.int("SIM_SHARD_HOMES", default=1000)
SIM_CHECKPOINT_TICKS = env.int("SIM_CHECKPOINT_TICKS", default=5)
SIM_SEED = env.int("SIM_SEED", default=1)
# /readyz fails once the newest finalized tick is older than this (and any home exists).
READY_MAX_TICK_AGE_S = env.int("READY_MAX_TICK_AGE_S", default=3 * TICK_SECONDS)

# Grid signals (grid/, docs/architecture.md "Grid signals"): the providers of each signal in
# order of preference, as JSON {"<signal>": [{"kind": ..., ...}, ...]}; a signal left out is
# answered by the built-in synthetic provider, which is also every signal's last fallback.
GRID_PROVIDERS = env.json("GRID_PROVIDERS", default={})
# How long a stored value stands in (flagged stale) after its interval ended.
GRID_SIGNAL_MAX_AGE_S = env.int("GRID_SIGNAL_MAX_AGE_S", default=6 * 3600)
# The fetch task: how often it runs, and how far back and ahead it asks each provider.
GRID_FETCH_INTERVAL_S = env.int("GRID_FETCH_INTERVAL_S", default=15 * 60)
GRID_FETCH_PAST_S = env.int("GRID_FETCH_PAST_S", default=6 * 3600)
GRID_FETCH_AHEAD_S = env.int("GRID_FETCH_AHEAD_S", default=36 * 3600)
# The first retry of a failed provider waits this long; each next one twice as long (3 at most).
GRID_FETCH_RETRY_BASE_S = env.int("GRID_FETCH_RETRY_BASE_S", default=30)

# The planner (docs/architecture.md "The planner"): how often beat plans the fleet (a
# plan_shard task per SIM_SHARD_HOMES range of homes with a goal, on the sim queue).
PLANNER_INTERVAL_S = env.int("PLANNER_INTERVAL_S", default=15 * 60)

# GraphQL guards (graphql_api/documents.py): checked before a document is validated.
GRAPHQL_MAX_BODY_BYTES = env.int("GRAPHQL_MAX_BODY_BYTES", default=128 * 1024)
GRAPHQL_MAX_DOCUMENT_BYTES = env.int("GRAPHQL_MAX_DOCUMENT_BYTES", default=32 * 1024)
GRAPHQL_MAX_TOKENS = env.int("GRAPHQL_MAX_TOKENS", default=2000)
GRAPHQL_MAX_FIELDS = env.int("GRAPHQL_MAX_FIELDS", default=500)
GRAPHQL_MAX_FIELD_REPEATS = env.int("GRAPHQL_MAX_FIELD_REPEATS", default=10)
GRAPHQL_MAX_DEPTH = env.int("GRAPHQL_MAX_DEPTH", default=10)
GRAPHQL_MAX_ALIASES = env.int("GRAPHQL_MAX_ALIASES", default=15)
GRAPHQL_MAX_PAGE_SIZE = env.int("GRAPHQL_MAX_PAGE_SIZE", default=100)
# Parsed and validated documents kept per process, by their estimated size.
GRAPHQL_CACHE_BYTES = env.int("GRAPHQL_CACHE_BYTES", default=32 * 1024 * 1024)
# Origins of single-page apps allowed to call /graphql/ and open its WebSocket from a browser
# (config/cors.py); none by default: same-origin only.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])

# Never on while DEBUG is off, whatever these say (graphql_api/schema.py, views.py).
GRAPHQL_INTROSPECTION = env.bool("GRAPHQL_INTROSPECTION", default=DEBUG)
GRAPHIQL = env.bool("GRAPHIQL", default=DEBUG)

# Django's error pages (DEBUG on) hide settings whose names match this filter's pattern:
# passwords and keys as Django does, and every URL, since URLs carry credentials.
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.error_reports.SettingsCleansingFilter"

# Celery (see celery_app.py).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# Log lines: "plain" text, or "json" (one object per line); both carry the request id.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
# No secret reaches a log: every handler redacts device keys, tokens and passwords
# (config/logs.py); LOGGING_CONFIG also puts the filter on handlers installed outside LOGGING
# (Django's defaults, uvicorn's).
LOGGING_CONFIG = "config.logs.configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "monitoring.logs.RequestIdFilter"},
        "redact_secrets": {"()": "config.logs.RedactSecrets"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "monitoring.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # httpx logs every request's full URL at INFO, query (an API key) included; the grid
        # providers log their own requests without it (grid/providers/http.py).
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# Real hardware: device keys, telemetry ingest (HTTP and MQTT), commands, alerts.
MQTT_URL = env.str("MQTT_URL", default="mqtt://127.0.0.1:1883")
# Device API keys are stored as HMAC-SHA256(secret, key), the secret being DEVICE_KEY_SECRET or,
# when empty, SECRET_KEY; changing it voids every key.
DEVICE_KEY_SECRET = env.str("DEVICE_KEY_SECRET", default="")
TELEMETRY_MAX_BODY_BYTES = env.int("TELEMETRY_MAX_BODY_BYTES", default=256 * 1024)
TELEMETRY_MAX_BATCH = env.int("TELEMETRY_MAX_BATCH", default=1000)
TELEMETRY_RATE = env.str("TELEMETRY_RATE", default="120/m")  # HTTP requests per device
TELEMETRY_CLOCK_SKEW_S = env.int("TELEMETRY_CLOCK_SKEW_S", default=30)
TELEMETRY_MAX_AGE_S = env.int("TELEMETRY_MAX_AGE_S", default=7 * 24 * 3600)
READINGS_RETENTION_DAYS = env.int("READINGS_RETENTION_DAYS", default=30)
COMMAND_TTL_S = env.int("COMMAND_TTL_S", default=3600)
COMMAND_MAX_ATTEMPTS = env.int("COMMAND_MAX_ATTEMPTS", default=5)
COMMAND_RETRY_BASE_S = env.int("COMMAND_RETRY_BASE_S", default=10)
MQTT_TOPIC_PREFIX = env.str("MQTT_TOPIC_PREFIX", default="gridtwin/devices")
# The bridge's MQTT session (kept by the broker across reconnects); default: per topic prefix.
MQTT_BRIDGE_CLIENT_ID = env.str("MQTT_BRIDGE_CLIENT_ID", default="")
