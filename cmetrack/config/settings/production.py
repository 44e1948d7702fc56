"""Production: refuses to start with the development secret key or with DEBUG on."""

import logging
import os

from django.core.exceptions import ImproperlyConfigured

from cmetrack.ops.logs import logging_config

from .base import *  # noqa: F403
from .base import CMETRACK_LOG_LEVEL, DEBUG, INSECURE_DEFAULT_SECRET_KEY, SECRET_KEY, STORAGES

if SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a long random value (at least 32 characters) in production."
    )
if not os.environ.get("DATABASE_URL"):
    raise ImproperlyConfigured(
        "DATABASE_URL must be set in production, e.g. postgres://user@host:5432/cmetrack."
    )
if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production: unset it or set DEBUG=false.")

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_SSL_REDIRECT = True
SECURE_HSTS_SECONDS = 31536000
# HSTS covers the service's own host name and any name under it (never the council's
# parent domain: a browser applies it below the host that sent it).
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# Not SECURE_HSTS_PRELOAD: the browsers' preload list takes whole registered domains
# (the council's own, e.g. exampleshire.gov.uk), which is the council's decision for all
# its services, not this one's. So check --deploy's security.W021 is silenced; see
# docs/operations.md, "Web server (gunicorn)".
SILENCED_SYSTEM_CHECKS = [*globals().get("SILENCED_SYSTEM_CHECKS", []), "security.W021"]
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Logs: one JSON object a line on standard error (docs/operations.md, "Logs");
# CMETRACK_LOG_FORMAT=console gives readable text instead.
CMETRACK_LOG_FORMAT = os.environ.get("CMETRACK_LOG_FORMAT", "json")
LOGGING = logging_config(json=CMETRACK_LOG_FORMAT == "json", level=CMETRACK_LOG_LEVEL)
logging.captureWarnings(True)  # Python's warnings become log lines too, not bare text
# The load balancer's health probe and Prometheus may call gunicorn directly over HTTP.
SECURE_REDIRECT_EXEMPT = [r"^health/$", r"^metrics$"]
