"""/health/: one JSON answer, 503 only when the database or the var directory fails."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client
from django.utils import timezone

from cmetrack.jobs import status as jobs_status
from cmetrack.matching import services as matching_services

CHECK_NAMES = {"database", "var_directory", "worker", "search_index"}


@pytest.fixture
def all_well(monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path) -> dict[str, Any]:
    """A writable var directory, a worker that beat 5 s ago, every index built and current."""
    settings.VAR_DIR = tmp_path
    settings.CMETRACK_HEALTH_MIN_FREE_MB = 0
    now = timezone.now()
    state: dict[str, Any] = {
        "alive": True,
        "indexes": {
            "children": {
                "exists": True,
                "built_at": now - dt.timedelta(minutes=2),
                "rows": 40,
                "behind": False,
            },
            "rolls": {"exists": True, "built_at": now, "rows": 900, "behind": False},
        },
    }
    monkeypatch.setattr(jobs_status, "worker_alive", lambda now=None: state["alive"])
    monkeypatch.setattr(jobs_status, "last_beat", lambda: now - dt.timedelta(seconds=5))
    monkeypatch.setattr(jobs_status, "queue_depth", lambda: 3)
    monkeypatch.setattr(jobs_status, "oldest_job_age", lambda now=None: dt.timedelta(seconds=42))
    monkeypatch.setattr(matching_services, "index_status", lambda: state["indexes"])
    return state


def get_health(client: Client) -> tuple[int, dict[str, Any], Any]:
    response = client.get("/health/")
    assert response["Content-Type"] == "application/json"
    return response.status_code, json.loads(response.content), response


@pytest.mark.django_db
def test_healthy_service_answers_200_with_every_check(
    client: Client, all_well: dict[str, Any]
) -> None:
    status, body, response = get_health(client)

    assert status == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) == CHECK_NAMES
    assert {check["status"] for check in body["checks"].values()} == {"ok"}
    assert body["checks"]["database"]["critical"] is True
    assert body["checks"]["worker"]["critical"] is False
    # A slow machine may take a few seconds between the fixture and the answer.
    assert 5 <= body["checks"]["worker"]["last_heartbeat_seconds_ago"] < 60
    assert body["checks"]["worker"]["queued_jobs"] == 3
    assert body["checks"]["worker"]["oldest_job_seconds"] == 42
    children = body["checks"]["search_index"]["registers"]["children"]
    assert (children["exists"], children["behind"]) == (True, False)
    assert 120 <= children["built_seconds_ago"] < 180
    assert "no-cache" in response["Cache-Control"]
    assert not response.cookies  # no session is started for a probe


@pytest.mark.django_db
def test_stopped_worker_is_degraded_but_200(client: Client, all_well: dict[str, Any]) -> None:
    all_well["alive"] = False

    status, body, _ = get_health(client)

    assert status == 200
    assert body["status"] == "degraded"
    assert body["checks"]["worker"]["status"] == "warning"
    assert "background worker is not running" in body["checks"]["worker"]["message"]
    assert body["checks"]["database"]["status"] == "ok"


@pytest.mark.django_db
def test_warnings_are_not_logged_but_failures_are(
    client: Client, all_well: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """A probe every few seconds must not log a traceback for a known warning."""
    all_well["alive"] = False
    caplog.set_level("WARNING")
    get_health(client)
    assert not [r for r in caplog.records if r.name == "health_check"]

    def broken() -> int:
        raise OperationalError("no such table")

    monkeypatch.setattr(jobs_status, "queue_depth", broken)
    get_health(client)
    assert [r for r in caplog.records if r.name == "health_check"]


@pytest.mark.django_db
def test_index_being_prepared_or_behind_is_a_warning(
    client: Client, all_well: dict[str, Any]
) -> None:
    all_well["indexes"]["children"] = {"exists": False, "built_at": None, "rows": 0, "behind": True}
    all_well["indexes"]["rolls"]["behind"] = True

    status, body, _ = get_health(client)

    assert status == 200
    assert body["status"] == "degraded"
    index = body["checks"]["search_index"]
    assert index["status"] == "warning"
    assert index["message"] == "Search is being prepared for: children."
    assert index["registers"]["rolls"]["behind"] is True


@pytest.mark.django_db
def test_index_behind_its_register_is_a_warning(client: Client, all_well: dict[str, Any]) -> None:
    all_well["indexes"]["rolls"]["behind"] = True

    status, body, _ = get_health(client)

    assert (status, body["status"]) == (200, "degraded")
    assert body["checks"]["search_index"]["message"] == (
        "The search index is behind its register for: rolls."
    )


@pytest.mark.django_db
def test_read_only_var_directory_answers_503(
    client: Client, all_well: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = Path.open

    def read_only(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self.parent == settings.VAR_DIR and self.name.startswith(".health-"):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", read_only)

    status, body, _ = get_health(client)

    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["var_directory"]["status"] == "failed"
    assert body["checks"]["var_directory"]["message"].startswith(
        "The data directory cannot be written to"
    )
    assert body["checks"]["database"]["status"] == "ok"


@pytest.mark.django_db
def test_missing_var_directory_answers_503(
    client: Client, all_well: dict[str, Any], settings: Any, tmp_path: Path
) -> None:
    settings.VAR_DIR = tmp_path / "not-there"

    status, body, _ = get_health(client)

    assert status == 503
    assert body["checks"]["var_directory"]["status"] == "failed"
    assert str(tmp_path) not in json.dumps(body)


@pytest.mark.django_db
def test_low_free_space_is_a_warning(
    client: Client, all_well: dict[str, Any], settings: Any
) -> None:
    settings.CMETRACK_HEALTH_MIN_FREE_MB = 10**12  # more than any disk has

    status, body, _ = get_health(client)

    assert status == 200
    assert body["checks"]["var_directory"]["status"] == "warning"
    assert "MB free" in body["checks"]["var_directory"]["message"]


@pytest.mark.django_db
def test_database_failure_answers_503_without_the_error_text(
    client: Client, all_well: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    @contextlib.contextmanager
    def unreachable(self: BaseDatabaseWrapper) -> Iterator[Any]:
        raise OperationalError(
            'connection to server at "db.secret.internal" (10.9.8.7), port 5432 failed: '
            'password authentication failed for user "cmetrack_owner"'
        )
        yield  # pragma: no cover

    monkeypatch.setattr(BaseDatabaseWrapper, "temporary_connection", unreachable)

    status, body, _ = get_health(client)

    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == {
        "critical": True,
        "status": "failed",
        "message": "The database cannot be reached.",
    }
    text = json.dumps(body)
    for secret in ("db.secret.internal", "10.9.8.7", "cmetrack_owner", "5432"):
        assert secret not in text


@pytest.mark.django_db
def test_worker_state_unreadable_is_degraded_not_503(
    client: Client, all_well: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> int:
        raise OperationalError("relation django_q_ormq does not exist at /srv/secret")

    monkeypatch.setattr(jobs_status, "queue_depth", broken)

    status, body, _ = get_health(client)

    assert status == 200
    assert body["checks"]["worker"]["status"] == "failed"
    assert body["checks"]["worker"]["message"] == "The background worker's state cannot be read."
    assert "/srv/secret" not in json.dumps(body)


@pytest.mark.django_db
def test_nothing_secret_in_the_answer(
    client: Client, all_well: dict[str, Any], settings: Any
) -> None:
    import django
    import health_check  # type: ignore[import-untyped]

    settings.CMETRACK_HEALTH_MIN_FREE_MB = 10**12  # a warning too: its text is checked
    all_well["alive"] = False

    _, _, response = get_health(client)
    text = response.content.decode()

    assert settings.SECRET_KEY not in text
    assert str(settings.VAR_DIR) not in text
    assert str(settings.DATABASES["default"]["NAME"]) not in text
    for version in (django.get_version(), health_check.__version__):
        assert version not in text
    assert "/" not in text  # no path of any kind
    assert "Server" not in response.headers
