"""Test settings: DATABASE_URL when set (PostgreSQL in CI), otherwise SQLite."""

import atexit
import shutil
import tempfile

from .base import *  # noqa: F403
from .base import CACHES, DATABASES

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": ""}  # in memory
    DATABASES["default"]["OPTIONS"] = {}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django empties tables with TRUNCATE between transactional tests; the audit table's
    # trigger refuses that unless the session allows it (audit migration 0006).
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c cmetrack.audit_truncate=allow".strip()
# Each run's own shared cache (rate limits, issued reports' progress), not the var folder's:
# two suites running at once must not count each other's reports.
_SHARED_CACHE = tempfile.mkdtemp(prefix="cmetrack-test-cache-")
atexit.register(shutil.rmtree, _SHARED_CACHE, ignore_errors=True)
CACHES["shared"]["LOCATION"] = _SHARED_CACHE  # type: ignore[index]
ALLOWED_HOSTS = ["*"]
STATIC_ROOT = None  # type: ignore[assignment]  # static files come from the app folders (WhiteNoise finders)
# Two-factor and lockout are off for the suite (force_login, client.login); the security
# tests switch them on with the ``settings`` fixture (docs/security.md).
CMETRACK_REQUIRE_2FA = False
AXES_ENABLED = False
# The suite's searches build a missing or stale search index in process (the worker does
# it in production); the tests of the production path switch this off (matching tests).
CMETRACK_SEARCH_INDEX_BUILD_IN_REQUEST = True
# Messages are recorded but their delivery is not queued (the notifications tests switch
# it on and serve a stand-in Notify on loopback).
CMETRACK_NOTIFY_ENQUEUE = False
# Figures are counted afresh on every request (a test changes data between two of them);
# the reports tests of the cache switch it on.
CMETRACK_REPORTS_CACHE_SECONDS = 0
# The emergency route's number (required with DEBUG off: safeguarding.E001). Ofcom's drama range.
CMETRACK_CHILDRENS_SOCIAL_CARE_PHONE = "01632 960 000"
