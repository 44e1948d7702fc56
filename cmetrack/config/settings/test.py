"""Test settings: DATABASE_URL when set (PostgreSQL in CI), otherwise SQLite."""

from .base import *  # noqa: F403
from .base import DATABASES

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": ""}  # in memory
    DATABASES["default"]["OPTIONS"] = {}
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
