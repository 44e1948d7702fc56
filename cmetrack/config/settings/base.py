"""Settings shared by every environment, read from environment variables.

Variables: ``DATABASE_URL`` (default: SQLite at ``$CMETRACK_VAR_DIR/cmetrack.sqlite3``),
``SECRET_KEY``, ``ALLOWED_HOSTS`` (comma separated), ``DEBUG`` (true/false),
``CMETRACK_LA_NAME`` and ``CMETRACK_LA_CODE`` (the authority running the service),
``CMETRACK_VAR_DIR`` (where the embedded database and uploads live; default ``./var``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path

import dj_database_url
import django_stubs_ext

from cmetrack.ops.logs import configure_structlog, logging_config

# Lets classes such as ModelAdmin[Child] be subscripted at run time, as the type stubs expect.
django_stubs_ext.monkeypatch()

PACKAGE_DIR = Path(__file__).resolve().parent.parent.parent

# The value used when SECRET_KEY is not set. Production refuses to start with it.
INSECURE_DEFAULT_SECRET_KEY = "insecure-development-key-do-not-use-in-production"  # noqa: S105


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name} must be true or false, not {raw!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


VAR_DIR = Path(os.environ.get("CMETRACK_VAR_DIR", Path.cwd() / "var")).resolve()

SECRET_KEY = os.environ.get("SECRET_KEY", INSECURE_DEFAULT_SECRET_KEY)
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])

CMETRACK_LA_NAME = os.environ.get("CMETRACK_LA_NAME", "Exampleshire County Council")
CMETRACK_LA_CODE = os.environ.get("CMETRACK_LA_CODE", "999")
CMETRACK_SERVICE_NAME = "Children missing education"
# Follow-up prompts: an open case with no contact attempt for this many days (casework).
CMETRACK_NO_CONTACT_DAYS = int(os.environ.get("CMETRACK_NO_CONTACT_DAYS", "30"))
# The children-not-in-school register (Children's Wellbeing and Schools Act 2026 s38):
# off until the section commences in this authority.
CMETRACK_CNIS_ENABLED = env_bool("CMETRACK_CNIS_ENABLED", False)
# Inter-authority enquiries: working days to a reply, and to a reminder (chase).
CMETRACK_ENQUIRY_REPLY_WORKING_DAYS = int(
    os.environ.get("CMETRACK_ENQUIRY_REPLY_WORKING_DAYS", "10")
)
# Immediate danger: the children's social care line shown beside 999 on safeguarding screens.
# Required with DEBUG off (system check safeguarding.E001; docs/safeguarding.md).
CMETRACK_CHILDRENS_SOCIAL_CARE_PHONE = os.environ.get("CMETRACK_CHILDRENS_SOCIAL_CARE_PHONE", "")

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'cmetrack.sqlite3'}",
        # Persistent connections (seconds; 0 closes each after its request), checked before
        # reuse so that a connection the database dropped is replaced, not failed on.
        conn_max_age=int(os.environ.get("CMETRACK_DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite is the embedded default: wait on locks rather than fail, WAL for readers.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles a query whose estimated cost is high (the report queries'
    # per-case index probes are estimated dear): 40 ms to seconds of compiling under load
    # for queries that run in tens of milliseconds. Off for this interactive workload.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "django_q",
    "cmetrack.core",
    "cmetrack.audit",
    "cmetrack.idempotency",
    "cmetrack.organisations",
    "cmetrack.jobs",
    "cmetrack.accounts",
    "cmetrack.notifications",  # low layer: the apps that send messages import it
    "cmetrack.people",
    "cmetrack.registers",
    "cmetrack.schoolcalendar",
    "cmetrack.detection",
    "cmetrack.referrals",
    "cmetrack.cases",
    "cmetrack.casework",
    "cmetrack.safeguarding",
    "cmetrack.matching",
    "cmetrack.demo",
    "cmetrack.dataprotection",
    "cmetrack.reports",
    "cmetrack.enquiries",
    "cmetrack.transfers",
    "cmetrack.provision",
    "cmetrack.virtualschool",
    "cmetrack.cnis",
    "cmetrack.ops",  # /health/, /metrics, logs: at the top, it may import any app
]

#: The reverse proxies' addresses or networks (comma-separated), e.g. "127.0.0.1,10.0.0.0/24".
#: A request from one of them has its client address taken from X-Forwarded-For.
CMETRACK_TRUSTED_PROXIES = [
    p for p in os.environ.get("CMETRACK_TRUSTED_PROXIES", "").split(",") if p.strip()
]

MIDDLEWARE = [
    # First: behind a trusted reverse proxy, REMOTE_ADDR becomes the client's address.
    "cmetrack.core.middleware.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Next (static files and HTTPS redirects are the proxy's to log): every line logged
    # while a request is handled carries its request id, and the response returns it.
    "django_structlog.middlewares.RequestMiddleware",
    "cmetrack.ops.middleware.RequestIdMiddleware",
    # Before the session and sign-in: a database that cannot be reached gives the 503 page.
    "cmetrack.core.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "cmetrack.core.middleware.SessionIdleTimeoutMiddleware",
    "cmetrack.accounts.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Every successful response about a child writes its audit row (cmetrack.audit.reads).
    "cmetrack.audit.middleware.ChildReadAuditMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "cmetrack.core.middleware.SecurityHeadersMiddleware",
    # Last, as django-axes asks: turns a lockout into accounts.views.locked_out.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "cmetrack.config.urls"
WSGI_APPLICATION = "cmetrack.config.wsgi.application"

TEMPLATES = [
    {
        # Our pages: Jinja2 with the GOV.UK Frontend macros.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "environment": "cmetrack.core.jinja.environment",
            "autoescape": True,
            "context_processors": ["cmetrack.core.context.navigation"],
        },
    },
    {
        # Django's admin and the API docs page use Django templates.
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

AUTH_USER_MODEL = "accounts.User"
# django-axes first: it refuses a locked-out username and address before the password check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "cmetrack.accounts.passwords.MaximumLengthValidator"},
    {"NAME": "cmetrack.accounts.passwords.BreachedPasswordValidator"},
]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
# The GOV.UK page for a form sent without a valid token; it needs no database or session.
CSRF_FAILURE_VIEW = "cmetrack.core.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Security (docs/security.md): two-factor, lockout, idle timeout, retention.
CMETRACK_REQUIRE_2FA = env_bool("CMETRACK_REQUIRE_2FA", True)
CMETRACK_2FA_OPTIONAL_ROLES = ["school_user", "agency_user"]
OTP_TOTP_ISSUER = "CME"
CMETRACK_SESSION_IDLE_MINUTES = int(os.environ.get("CMETRACK_SESSION_IDLE_MINUTES", "30"))
AXES_ENABLED = True
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = dt.timedelta(minutes=30)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "cmetrack.accounts.lockout.attempted_username"
AXES_CLIENT_IP_CALLABLE = "cmetrack.accounts.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "cmetrack.accounts.views.locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # our audit trail records sign-ins
AXES_VERBOSE = False
#: Closed records are kept until the child reaches this age (dataprotection.retention).
CMETRACK_RETENTION_AGE_YEARS = int(os.environ.get("CMETRACK_RETENTION_AGE_YEARS", "25"))

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# A large upload is spooled to a temporary file while the request is read; on a full or
# read-only disk our handler drops it and the page says so (kit/storage.py, ADR 0013).
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "cmetrack.kit.storage.SpoolingUploadHandler",
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Background work: django-q2 with its ORM broker, on this database (docs/adr/0011).
# One ``cmetrack worker`` runs CMETRACK_WORKERS task processes and the schedules. An import
# may take long: timeout 1 hour; a task not acknowledged after ``retry`` (its worker died)
# is handed out again, at most ``max_attempts`` times; a failed task is not retried.
Q_CLUSTER = {
    "name": "cmetrack",
    "orm": "default",
    "workers": int(os.environ.get("CMETRACK_WORKERS", "2")),
    "timeout": 3600,
    "retry": 3900,
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    "sync": False,
    "save_limit": 1000,
    # An idle worker looks for a task once a second: a read, which neither SQLite (WAL)
    # nor PostgreSQL makes wait on writers.
    "poll": 1.0,
    "queue_limit": 2,
    "recycle": 100,
    "label": "Background jobs",
}

# Logs (docs/operations.md, "Logs"): structlog through the standard library, one line per
# event with the request id; JSON in production, text here. Never query strings, form
# bodies, names or emails (cmetrack/ops/logs.py).
CMETRACK_LOG_FORMAT = os.environ.get("CMETRACK_LOG_FORMAT", "console")
CMETRACK_LOG_LEVEL = os.environ.get("CMETRACK_LOG_LEVEL", "INFO").upper()
LOGGING = logging_config(json=CMETRACK_LOG_FORMAT == "json", level=CMETRACK_LOG_LEVEL)
configure_structlog()
DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True  # the proxy's X-Request-ID, when sensible
DJANGO_STRUCTLOG_IP_LOGGING_ENABLED = False  # the proxy's log and the audit trail have it
DJANGO_STRUCTLOG_USER_ID_FIELD = None  # cmetrack.ops.logs adds it without a query
DJANGO_STRUCTLOG_STATUS_START_LOG_LEVEL = logging.DEBUG  # one line a request: when it ends
DJANGO_STRUCTLOG_STATUS_4XX_LOG_LEVEL = logging.INFO

# Notifications through GOV.UK Notify (docs/notifications.md, ADR 0014). The backend is
# notify, console (logs, the default) or file (JSON per message in $CMETRACK_VAR_DIR/outbox).
CMETRACK_NOTIFY_BACKEND = os.environ.get("CMETRACK_NOTIFY_BACKEND", "console")
CMETRACK_NOTIFY_BACKEND_CHOSEN = "CMETRACK_NOTIFY_BACKEND" in os.environ
CMETRACK_NOTIFY_API_KEY = os.environ.get("CMETRACK_NOTIFY_API_KEY", "")
CMETRACK_NOTIFY_BASE_URL = os.environ.get(
    "CMETRACK_NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk"
)
CMETRACK_NOTIFY_TEMPLATES = {
    **json.loads(os.environ.get("CMETRACK_NOTIFY_TEMPLATES") or "{}"),
    **{
        name.removeprefix("CMETRACK_NOTIFY_TEMPLATE_").lower(): value
        for name, value in os.environ.items()
        if name.startswith("CMETRACK_NOTIFY_TEMPLATE_") and value
    },
}
CMETRACK_NOTIFY_CALLBACK_TOKEN = os.environ.get("CMETRACK_NOTIFY_CALLBACK_TOKEN", "")
CMETRACK_NOTIFY_SECURE_DOMAINS = env_list("CMETRACK_NOTIFY_SECURE_DOMAINS", [])
CMETRACK_NOTIFY_SITE_URL = os.environ.get("CMETRACK_NOTIFY_SITE_URL", "")
CMETRACK_NOTIFY_PER_MINUTE = int(os.environ.get("CMETRACK_NOTIFY_PER_MINUTE", "3000"))
# A school's attendance feed more than this many school days behind raises a feed alert
# for the attendance (CME) team (the older name CMETRACK_NOTIFY_STALE_FEED_SCHOOL_DAYS is
# still read).
CMETRACK_FEED_STALE_SCHOOL_DAYS = int(
    os.environ.get("CMETRACK_FEED_STALE_SCHOOL_DAYS")
    or os.environ.get("CMETRACK_NOTIFY_STALE_FEED_SCHOOL_DAYS")
    or "3"
)
CMETRACK_NOTIFY_STALE_FEED_SCHOOL_DAYS = CMETRACK_FEED_STALE_SCHOOL_DAYS
# Feeds without uploads (docs/data-feeds.md): the SFTP landing area the worker imports from
# (empty: no drop folder), and the largest body the push API takes.
CMETRACK_FEED_DROP_DIR = os.environ.get("CMETRACK_FEED_DROP_DIR", "")
CMETRACK_FEED_MAX_BYTES = int(os.environ.get("CMETRACK_FEED_MAX_BYTES", str(2 << 30)))
CMETRACK_NOTIFY_MAX_ATTEMPTS = int(os.environ.get("CMETRACK_NOTIFY_MAX_ATTEMPTS", "8"))
CMETRACK_NOTIFY_ENQUIRY_DOCUMENT = os.environ.get("CMETRACK_NOTIFY_ENQUIRY_DOCUMENT", "link")
CMETRACK_NOTIFY_OUTBOX = os.environ.get("CMETRACK_NOTIFY_OUTBOX", "")

# Health (/health/, cmetrack/ops/health.py): warn when the var directory has less free.
CMETRACK_HEALTH_MIN_FREE_MB = int(os.environ.get("CMETRACK_HEALTH_MIN_FREE_MB", "1024"))

# Caches: each process's own memory, and files under the var directory that every web
# process shares (the reports dashboard's figures, CMETRACK_REPORTS_CACHE_SECONDS, 60 s;
# 0 to count afresh on every request).
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "shared": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
        "OPTIONS": {"MAX_ENTRIES": 1000},
    },
}
CMETRACK_REPORTS_CACHE_SECONDS = int(os.environ.get("CMETRACK_REPORTS_CACHE_SECONDS", "60"))
# Jinja's compiled templates, shared by every web process (cmetrack/core/jinja.py).
CMETRACK_JINJA_BYTECODE_DIR = VAR_DIR / "jinja"

# Prometheus metrics at /metrics (cmetrack/ops/metrics.py): off unless CMETRACK_METRICS=true,
# and then only for the addresses (or networks) in CMETRACK_METRICS_ALLOWED_IPS.
CMETRACK_METRICS = env_bool("CMETRACK_METRICS", False)
CMETRACK_METRICS_ALLOWED_IPS = env_list("CMETRACK_METRICS_ALLOWED_IPS", ["127.0.0.1", "::1"])
if CMETRACK_METRICS:
    MIDDLEWARE = [
        "django_prometheus.middleware.PrometheusBeforeMiddleware",
        *MIDDLEWARE,
        "django_prometheus.middleware.PrometheusAfterMiddleware",
    ]
    # gunicorn runs several processes: each writes its request figures to files here and
    # /metrics adds them up. Set before prometheus_client is imported; emptied at start.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(VAR_DIR / "prometheus"))
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
