"""Settings read from the environment; production refuses to start when unsafe.

Each environment is loaded in a fresh interpreter, as an operator would start it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cmetrack.config.settings.base import INSECURE_DEFAULT_SECRET_KEY, env_bool, env_list

REPO_ROOT = Path(__file__).resolve().parents[3]
PRODUCTION = "cmetrack.config.settings.production"
DEV = "cmetrack.config.settings.dev"
GOOD_KEY = "k" * 25 + "Q7x!p" * 5  # 50 characters
PG_URL = "postgres://u@h:5432/db"
#: Variables the settings read; the parent's values must not leak into the child.
SETTINGS_VARIABLES = {
    "DATABASE_URL",
    "DJANGO_SETTINGS_MODULE",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CMETRACK_VAR_DIR",
    "CMETRACK_LA_NAME",
    "CMETRACK_LA_CODE",
}
REPORT = """
import json, django
django.setup()
from django.conf import settings
db = settings.DATABASES["default"]
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "SECRET_KEY": settings.SECRET_KEY,
    "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
    "ENGINE": db["ENGINE"],
    "NAME": str(db["NAME"]),
    "HOST": db.get("HOST", ""),
    "PORT": db.get("PORT", ""),
    "USER": db.get("USER", ""),
    "OPTIONS": db.get("OPTIONS", {}),
    "SESSION_COOKIE_SECURE": getattr(settings, "SESSION_COOKIE_SECURE", None),
    "CSRF_COOKIE_SECURE": getattr(settings, "CSRF_COOKIE_SECURE", None),
    "SECURE_SSL_REDIRECT": getattr(settings, "SECURE_SSL_REDIRECT", None),
    "SECURE_HSTS_SECONDS": getattr(settings, "SECURE_HSTS_SECONDS", None),
    "LA": [settings.CMETRACK_LA_NAME, settings.CMETRACK_LA_CODE],
}))
"""


def start(module: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    child_env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    child_env.update(
        DJANGO_SETTINGS_MODULE=module,
        CMETRACK_VAR_DIR=str(tmp_path / "var"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    )
    child_env.update(env)
    return subprocess.run(  # noqa: S603  (our own interpreter and a fixed script)
        [sys.executable, "-c", REPORT],
        env=child_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def loaded(module: str, tmp_path: Path, **env: str) -> dict[str, Any]:
    result = start(module, tmp_path, **env)
    assert result.returncode == 0, result.stderr
    settings: dict[str, Any] = json.loads(result.stdout)
    return settings


# Production ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": PG_URL}, "SECRET_KEY must be set"),
        ({"DATABASE_URL": PG_URL, "SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"DATABASE_URL": PG_URL, "SECRET_KEY": "short-key"}, "SECRET_KEY must be set"),
        ({"DATABASE_URL": PG_URL, "SECRET_KEY": "x" * 31}, "at least 32 characters"),
        (
            {"DATABASE_URL": PG_URL, "SECRET_KEY": INSECURE_DEFAULT_SECRET_KEY},
            "SECRET_KEY must be set",
        ),
        ({"SECRET_KEY": GOOD_KEY}, "DATABASE_URL must be set in production"),
        ({"SECRET_KEY": GOOD_KEY, "DATABASE_URL": ""}, "DATABASE_URL must be set in production"),
        (
            {"DATABASE_URL": PG_URL, "SECRET_KEY": GOOD_KEY, "DEBUG": "true"},
            "DEBUG must be off in production",
        ),
        (
            {"DATABASE_URL": PG_URL, "SECRET_KEY": GOOD_KEY, "DEBUG": "1"},
            "DEBUG must be off in production",
        ),
        (
            {"DATABASE_URL": PG_URL, "SECRET_KEY": GOOD_KEY, "DEBUG": "Yes"},
            "DEBUG must be off in production",
        ),
    ],
)
def test_production_refuses_to_start(tmp_path, env, message):
    result = start(PRODUCTION, tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
    assert result.stdout == ""


def test_production_refuses_a_debug_value_it_cannot_read(tmp_path):
    result = start(PRODUCTION, tmp_path, SECRET_KEY=GOOD_KEY, DATABASE_URL=PG_URL, DEBUG="maybe")
    assert result.returncode != 0
    assert "ValueError" in result.stderr
    assert "DEBUG must be true or false, not 'maybe'" in result.stderr


@pytest.mark.parametrize(
    "env",
    [
        {"SECRET_KEY": GOOD_KEY},
        {"SECRET_KEY": GOOD_KEY, "DEBUG": ""},
        {"SECRET_KEY": GOOD_KEY, "DEBUG": "false"},
        {"SECRET_KEY": "y" * 32},  # the shortest key allowed
    ],
)
def test_production_starts_when_safe(tmp_path, env):
    settings = loaded(PRODUCTION, tmp_path, DATABASE_URL=PG_URL, **env)
    assert settings["DEBUG"] is False
    assert settings["SECRET_KEY"] == env["SECRET_KEY"]
    assert settings["ENGINE"] == "django.db.backends.postgresql"
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["CSRF_COOKIE_SECURE"] is True
    assert settings["SECURE_SSL_REDIRECT"] is True
    assert settings["SECURE_HSTS_SECONDS"] >= 31536000


def test_allowed_hosts_and_authority_from_the_environment(tmp_path):
    settings = loaded(
        PRODUCTION,
        tmp_path,
        SECRET_KEY=GOOD_KEY,
        DATABASE_URL=PG_URL,
        ALLOWED_HOSTS="cme.example.gov.uk, cme-admin.example.gov.uk,,",
        CMETRACK_LA_NAME="Kent County Council",
        CMETRACK_LA_CODE="886",
    )
    assert settings["ALLOWED_HOSTS"] == ["cme.example.gov.uk", "cme-admin.example.gov.uk"]
    assert settings["LA"] == ["Kent County Council", "886"]


# The database ----------------------------------------------------------------------------


@pytest.mark.parametrize("database_url", [None, ""])
def test_dev_uses_sqlite_in_the_var_dir_without_database_url(tmp_path, database_url):
    env = {} if database_url is None else {"DATABASE_URL": database_url}
    settings = loaded(DEV, tmp_path, **env)
    var_dir = (tmp_path / "var").resolve()
    assert settings["ENGINE"] == "django.db.backends.sqlite3"
    assert settings["NAME"] == str(var_dir / "cmetrack.sqlite3")
    assert var_dir.is_dir()  # dev makes the directory for the database
    assert settings["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in settings["OPTIONS"]["init_command"]
    assert settings["DEBUG"] is True


def test_dev_debug_can_be_turned_off(tmp_path):
    assert loaded(DEV, tmp_path, DEBUG="no")["DEBUG"] is False


def test_database_url_selects_postgresql(tmp_path):
    settings = loaded(DEV, tmp_path, DATABASE_URL=PG_URL)
    assert settings["ENGINE"] == "django.db.backends.postgresql"
    assert settings["NAME"] == "db"
    assert settings["HOST"] == "h"
    assert settings["PORT"] == 5432
    assert settings["USER"] == "u"
    assert "transaction_mode" not in settings["OPTIONS"]  # SQLite options are not applied


# env_bool and env_list -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        (" True ", True),
        ("1", True),
        ("yes", True),
        ("on", True),
        ("false", False),
        ("False", False),
        ("0", False),
        ("no", False),
        ("off", False),
    ],
)
@pytest.mark.parametrize("default", [True, False])
def test_env_bool_reads_words(monkeypatch, raw, expected, default):
    monkeypatch.setenv("CMETRACK_TEST_FLAG", raw)
    assert env_bool("CMETRACK_TEST_FLAG", default) is expected


@pytest.mark.parametrize("raw", [None, "", "   "])
@pytest.mark.parametrize("default", [True, False])
def test_env_bool_default_when_unset_or_blank(monkeypatch, raw, default):
    if raw is None:
        monkeypatch.delenv("CMETRACK_TEST_FLAG", raising=False)
    else:
        monkeypatch.setenv("CMETRACK_TEST_FLAG", raw)
    assert env_bool("CMETRACK_TEST_FLAG", default) is default


@pytest.mark.parametrize("raw", ["maybe", "2", "tru", "y e s", "-1", "enabled"])
def test_env_bool_refuses_garbage_naming_the_variable(monkeypatch, raw):
    monkeypatch.setenv("CMETRACK_TEST_FLAG", raw)
    with pytest.raises(ValueError, match="CMETRACK_TEST_FLAG") as excinfo:
        env_bool("CMETRACK_TEST_FLAG", False)
    assert repr(raw) in str(excinfo.value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a.example", ["a.example"]),
        ("a.example,b.example", ["a.example", "b.example"]),
        (" a.example , b.example ,", ["a.example", "b.example"]),
        (",,c.example,,", ["c.example"]),
        ("", ["default.example"]),
        ("  ", ["default.example"]),
        (None, ["default.example"]),
    ],
)
def test_env_list_splits_commas(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("CMETRACK_TEST_LIST", raising=False)
    else:
        monkeypatch.setenv("CMETRACK_TEST_LIST", raw)
    assert env_list("CMETRACK_TEST_LIST", ["default.example"]) == expected
