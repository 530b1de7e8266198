"""Settings for Model Portal, read from the environment (12-factor).

With nothing set the portal runs on one laptop: SQLite and local files under ``var/``, the
database-backed task queue. Every variable is listed in the README.
"""

import json
import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-debug-only-key"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "var"))
DATA_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "portal.staticstorage.PortalStaticFilesConfig",  # django.contrib.staticfiles, trimmed
    "django.contrib.humanize",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "registry",
    "portal",
    # After registry, whose db_worker (the library's, waiting out a locked or unreachable
    # database) then takes the place of the library's own.
    "django_tasks_db",
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
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.middleware.DatabaseBusyMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "django.template.context_processors.csp",
                "portal.context_processors.role",
            ],
        },
    },
]

# Database: SQLite under DATA_DIR unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the task worker share the file: WAL lets readers and one writer
    # work at once, IMMEDIATE transactions avoid "database is locked" on upgrade to write.
    # Connections are kept (CONN_MAX_AGE): opening one per request, and checkpointing the WAL
    # as the last one closes, cost more than answering a prediction.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        # Seconds a write waits for the lock before the request is answered 503 (busy).
        "timeout": env_int("SQLITE_TIMEOUT", 20),
    }
    # DRF maps django.contrib.postgres's model fields to serializer fields in case a model
    # has one (rest_framework/compat.py), and importing those fields imports psycopg: ~50 ms
    # of every server's start (bench/api_http.py --cold) for fields no model has on SQLite.
    # None in sys.modules makes that import fail as it does where psycopg is not installed,
    # which DRF expects. Nothing of the portal's uses django.contrib.postgres.
    sys.modules.setdefault("django.contrib.postgres.fields", None)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A server that does not answer at all (not one that refuses) must not hold a request
    # until the worker is killed: after this many seconds the request answers 503.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "DB_CONNECT_TIMEOUT", 5
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# Static files: whitenoise serves them compressed, under hashed names, cached for a year.
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Keep only the hashed copies: collectstatic then compresses each large bundle (plotly.js,
# Swagger UI) once, not twice. What is never served is not collected (portal/staticstorage.py).
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]

# Model artifacts: any Django storage. The default keeps them on the local disk; point
# ARTIFACT_STORAGE at another backend (a shared volume, S3-compatible storage) to scale out.
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": DATA_DIR / "media"},
    },
    "artifacts": {
        "BACKEND": os.environ.get(
            "ARTIFACT_STORAGE", "django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": json.loads(os.environ.get("ARTIFACT_STORAGE_OPTIONS", "null"))
        or {"location": DATA_DIR / "artifacts"},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "portal.staticstorage.PortalStaticFilesStorage"
        ),
    },
}

# Background work: Django's tasks framework. The database-backed worker (`manage.py
# db_worker`) by default; "immediate" runs tasks inline (tests, one-off scripts).
# "rq" puts tasks on Redis (REDIS_URL) for RQ workers (`manage.py rqworker --job-class
# django_tasks_rq.Job`), for many worker hosts.
TASK_BACKEND = os.environ.get("TASK_BACKEND", "database")
# Is there a Redis? Decided once, here: REDIS_URL set in the environment. Then the shared
# cache, monitoring's cache and throttle counts live in it; otherwise in the database and
# each process's memory.
HAS_REDIS = bool(os.environ.get("REDIS_URL"))
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
_TASK_BACKENDS = {
    "database": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]},
    "immediate": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"},
    "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]},
}
if TASK_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600}}
# The cache that throttles and login lockouts count in must be shared by every process
# (gunicorn workers, hosts): Redis when REDIS_URL is set in the environment, else a table in
# the database (`migrate` creates it, see registry.apps).
if HAS_REDIS:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Portals sharing one Redis keep their counts apart with a prefix each.
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", ""),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache",
            # Past MAX_ENTRIES the table is culled, counters included: set it well above
            # the live counters (users x kinds, plus addresses) so none is dropped early.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
# Monitoring keeps derived figures (finished days, champions' statuses) for minutes to a day.
# Many small entries read and written per page: in Redis when there is one (one round trip
# for many keys), else in each process's memory, where a database cache would cost several
# statements per entry.
CACHES["monitoring"] = (
    CACHES["default"]
    if HAS_REDIS
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "monitoring"}
)
# Throttles count in Redis when there is one, else in one database row per caller and kind
# of call (portal.models.RateCount), updated by a single atomic statement.
RATE_COUNTS_IN_CACHE = HAS_REDIS
# Proxies in front that append to X-Forwarded-For (deploy/nginx.conf: 1). The client's
# address is the one that many entries from the right; with 0, REMOTE_ADDR.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TASK_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(f"TASK_BACKEND must be one of {sorted(_TASK_BACKENDS)}.")
TASKS = {"default": _TASK_BACKENDS[TASK_BACKEND]}

# Content-Security-Policy: no inline scripts anywhere. Plotly injects <style> elements, so
# styles (never scripts) may be inline.
EMBED_FRAME_ANCESTORS = env_list("EMBED_FRAME_ANCESTORS", "'self'")
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:", "blob:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# No page may be framed (clickjacking); the embed view alone is exempt and sends its own
# frame-ancestors (EMBED_FRAME_ANCESTORS).
X_FRAME_OPTIONS = "DENY"

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
if env_bool("BEHIND_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Production over HTTPS (README, "Production"): redirect plain HTTP (but the health check,
# which load balancers call over HTTP) and tell browsers to use HTTPS only (HSTS).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^api/v1/health/$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

# E-mail (promotion requests to the other managers, alerts to their rules' addresses): sent
# only when an SMTP host is set.
if os.environ.get("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ["EMAIL_HOST"],
                "port": env_int("EMAIL_PORT", 587),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                "timeout": 10,
            },
        }
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "model-portal@localhost")

# Model Portal's own limits.
PORTAL = {
    # Rows one prediction call may carry; more is refused as payload_too_large.
    "MAX_ROWS_PER_CALL": env_int("PORTAL_MAX_ROWS_PER_CALL", 10_000),
    # Loaded estimators kept per process (an LRU keyed by the artifact's sha256).
    "ESTIMATOR_CACHE_SIZE": env_int("PORTAL_ESTIMATOR_CACHE_SIZE", 16),
    # Largest model file accepted at registration.
    "MAX_ARTIFACT_BYTES": env_int("PORTAL_MAX_ARTIFACT_BYTES", 200 * 1024 * 1024),
    # What a model file (a zip) may unpack to, all members together.
    "MAX_ARTIFACT_UNPACKED_BYTES": env_int(
        "PORTAL_MAX_ARTIFACT_UNPACKED_BYTES", 1024 * 1024 * 1024
    ),
    # Rows of reference data kept on a version for charts, sweeps and drift.
    "REFERENCE_SAMPLE_ROWS": env_int("PORTAL_REFERENCE_SAMPLE_ROWS", 500),
    # Batch scoring: largest CSV accepted, columns its header may name, rows and bytes per
    # chunk (the unit of parallel work and of memory: a chunk ends at whichever comes first),
    # seconds without a heartbeat after which a chunk's worker is taken for dead.
    "MAX_BATCH_BYTES": env_int("PORTAL_MAX_BATCH_BYTES", 1024 * 1024 * 1024),
    "BATCH_MAX_COLUMNS": env_int("PORTAL_BATCH_MAX_COLUMNS", 1_000),
    "BATCH_CHUNK_ROWS": env_int("PORTAL_BATCH_CHUNK_ROWS", 50_000),
    "BATCH_CHUNK_BYTES": env_int("PORTAL_BATCH_CHUNK_BYTES", 8 * 1024 * 1024),
    "BATCH_STALE_SECONDS": env_int("PORTAL_BATCH_STALE_SECONDS", 300),
    # Seconds between two evaluations of the alert rules by the task worker.
    "ALERT_INTERVAL": env_int("PORTAL_ALERT_INTERVAL", 300),
    # Seconds a signed embed (share) link stays valid; resetting a prediction's link
    # revokes every link given out before.
    "EMBED_LINK_MAX_AGE": env_int("PORTAL_EMBED_LINK_MAX_AGE", 30 * 24 * 3600),
    # Login lockout (portal/lockout.py, counted in the shared cache): wrong passwords for one
    # account from one address before that address is locked out of it, and after which the
    # account's attempts from anywhere are slowed down (up to the maximum wait); names that
    # are no account, per address, before the address may try no more; how long a lock lasts.
    "LOGIN_FAILURES_PER_USER": env_int("PORTAL_LOGIN_FAILURES_PER_USER", 5),
    "LOGIN_SLOWDOWN_MAX_SECONDS": env_int("PORTAL_LOGIN_SLOWDOWN_MAX_SECONDS", 60),
    "LOGIN_FAILURES_PER_ADDRESS": env_int("PORTAL_LOGIN_FAILURES_PER_ADDRESS", 30),
    "LOGIN_LOCKOUT_SECONDS": env_int("PORTAL_LOGIN_LOCKOUT_SECONDS", 900),
    # Rows one user may store (predict, /v2/ infer, saved compares and scenarios) per UTC
    # day; 0: no quota. About 0.8 kB a row: the default is under 1 GB a user a day.
    "DAILY_STORED_ROWS": env_int("PORTAL_DAILY_STORED_ROWS", 1_000_000),
    # Webhooks (registry/events): loopback and private addresses only when allowed; seconds
    # a receiver has to answer; attempts per delivery, the first retry after the backoff and
    # each next one after twice the last.
    "WEBHOOK_ALLOW_PRIVATE": env_bool("PORTAL_WEBHOOK_ALLOW_PRIVATE", False),
    "WEBHOOK_TIMEOUT": env_int("PORTAL_WEBHOOK_TIMEOUT", 5),
    "WEBHOOK_ATTEMPTS": env_int("PORTAL_WEBHOOK_ATTEMPTS", 6),
    "WEBHOOK_BACKOFF_SECONDS": float(os.environ.get("PORTAL_WEBHOOK_BACKOFF_SECONDS", "10")),
}

# Rates, with the other limits: calls that run a model (predict, compare, what-if), per user,
# generous by default; pages, the API and /v2/ count in the same budgets (portal.web.throttles).
THROTTLE_RATES = {
    "model_calls": os.environ.get("PORTAL_API_RATE", "6000/min"),
    "batch_uploads": os.environ.get("PORTAL_BATCH_RATE", "60/hour"),
    # Rows the model scores for one user (a compare: rows x models; an explanation or a
    # counterfactual search: the rows it tries), API, /v2/ and pages alike.
    "model_rows": os.environ.get("PORTAL_ROW_RATE", "300000/min"),
    # Views of /embed/… per address (anyone with a share link may open one).
    "embeds": os.environ.get("PORTAL_EMBED_RATE", "120/min"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"client_errors": {"()": "portal.logfilters.ClientErrorsWithoutTraceback"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["client_errors"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# JSON API (portal/api): token first, so an anonymous call gets 401 with WWW-Authenticate.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.web.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portal.web.permissions.IsViewer"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["portal.web.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portal.web.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [],
    "DEFAULT_THROTTLE_RATES": THROTTLE_RATES,
    "NUM_PROXIES": TRUSTED_PROXY_COUNT or None,
}
# The largest request body (JSON) in bytes; more is payload_too_large. 10,000 rows of 30
# inputs are about 8 MB of JSON.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("PORTAL_MAX_BODY_BYTES", 16 * 1024 * 1024)

SPECTACULAR_SETTINGS = {
    "TITLE": "Model Portal API",
    "DESCRIPTION": (
        "Registered models, their interfaces, predictions with Plotly charts, what-if sweeps "
        "and comparisons. [← Back to Model Portal](/)\n\n"
        "Authenticate with the header `Authorization: Token <token>`: make or copy your token "
        "on your [profile page](/profile/). In this page, a logged-in session works too. "
        'Every error answers `{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {"HealthEnum": ["ok", "error"]},
}
