"""Development and demo: embedded SQLite under ``var/`` unless DATABASE_URL is set."""

from .base import *  # noqa: F403
from .base import VAR_DIR, env_bool

DEBUG = env_bool("DEBUG", True)
VAR_DIR.mkdir(parents=True, exist_ok=True)
STATIC_ROOT = None  # type: ignore[assignment]  # static files come from the app folders (WhiteNoise finders)
# The local demo signs in without an authenticator app unless CMETRACK_REQUIRE_2FA=true.
CMETRACK_REQUIRE_2FA = env_bool("CMETRACK_REQUIRE_2FA", False)
