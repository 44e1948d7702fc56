"""/metrics: off by default, and when on only for the allowed addresses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from cmetrack.detection.models import ImportKind, ImportRun, ImportStatus
from cmetrack.ops.views import client_allowed

PROMETHEUS_MIDDLEWARE = (
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
)


def test_metrics_are_off_by_default(client: Client, settings: Any) -> None:
    assert settings.CMETRACK_METRICS is False
    assert not set(PROMETHEUS_MIDDLEWARE) & set(settings.MIDDLEWARE)

    assert client.get("/metrics").status_code == 404


@pytest.fixture
def metrics_on(settings: Any) -> Any:
    settings.CMETRACK_METRICS = True
    settings.MIDDLEWARE = [PROMETHEUS_MIDDLEWARE[0], *settings.MIDDLEWARE, PROMETHEUS_MIDDLEWARE[1]]
    return settings


def _failed_import() -> ImportRun:
    return ImportRun.objects.create(
        kind=ImportKind.choices[0][0],
        status=ImportStatus.FAILED,
        file_name="roll.csv",
        content_hash="0" * 64,
    )


@pytest.mark.django_db
def test_metrics_when_on_show_requests_jobs_worker_and_failed_imports(
    client: Client, metrics_on: Any
) -> None:
    _failed_import()
    _failed_import()
    client.get("/health/")

    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    lines = text.splitlines()
    assert "cmetrack_state_up 1.0" in lines
    assert "cmetrack_imports_failed_total 2.0" in lines
    assert "cmetrack_jobs_queued 0.0" in lines
    assert "cmetrack_jobs_oldest_age_seconds 0.0" in lines
    assert "cmetrack_worker_alive 0.0" in lines
    # django-prometheus's request latency, labelled by view.
    assert any(
        line.startswith("django_http_requests_latency_seconds_by_view_method_count{")
        and 'view="health"' in line
        for line in lines
    )


@pytest.mark.django_db
def test_metrics_refused_to_other_addresses(client: Client, metrics_on: Any) -> None:
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404

    metrics_on.CMETRACK_METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 404


def test_client_allowed_reads_addresses_and_networks() -> None:
    assert client_allowed("127.0.0.1", ["127.0.0.1"])
    assert client_allowed("::1", ["127.0.0.1", "::1"])
    assert client_allowed("192.168.4.7", ["10.0.0.0/8", "192.168.4.0/24"])
    assert not client_allowed("192.168.5.7", ["192.168.4.0/24"])
    assert not client_allowed("", ["127.0.0.1"])
    assert not client_allowed("not-an-address", ["127.0.0.1", "rubbish"])


def _settings_with(env: dict[str, str], code: str) -> str:
    """Runs ``code`` after importing the base settings with ``env``; returns its output."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS")}
    full_env.update(env)
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", f"from cmetrack.config.settings import base as s\n{code}"],
        env=full_env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout


def test_setting_switches_on_the_middleware_and_multiprocess_mode(tmp_path: Path) -> None:
    out = _settings_with(
        {"CMETRACK_METRICS": "true", "CMETRACK_VAR_DIR": str(tmp_path)},
        "import os\n"
        "print(s.MIDDLEWARE[0]); print(s.MIDDLEWARE[-1])\n"
        "print(os.environ['PROMETHEUS_MULTIPROC_DIR'])",
    ).splitlines()

    assert out == [*PROMETHEUS_MIDDLEWARE, str(tmp_path / "prometheus")]
    assert (tmp_path / "prometheus").is_dir()


def test_database_connections_are_checked_before_reuse() -> None:
    out = _settings_with(
        {"DATABASE_URL": "postgres://u@db.internal:5432/x", "CMETRACK_DB_CONN_MAX_AGE": "300"},
        "d = s.DATABASES['default']; print(d['CONN_HEALTH_CHECKS'], d['CONN_MAX_AGE'])",
    )

    assert out.split() == ["True", "300"]


def test_database_connections_are_checked_in_these_settings(settings: Any) -> None:
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True


SERVE_THREE_PAGES = """
import django
django.setup()
from django.test import Client
client = Client()
for _ in range(3):
    assert client.get("/accessibility/").status_code == 200
"""

READ_METRICS = """
import django
django.setup()
from cmetrack.ops.metrics import exposition
print(exposition()[0].decode())
"""


def test_one_process_reads_the_requests_another_process_served(tmp_path: Path) -> None:
    """gunicorn's processes: /metrics in one adds up what every process counted."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROMETHEUS", "CMETRACK"))}
    env.update(
        CMETRACK_METRICS="true",
        CMETRACK_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="cmetrack.config.settings.test",
    )
    env.pop("DATABASE_URL", None)
    for script in (SERVE_THREE_PAGES, SERVE_THREE_PAGES):
        subprocess.run(  # noqa: S603
            [sys.executable, "-c", script], env=env, check=True, timeout=120, capture_output=True
        )

    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", READ_METRICS],
        env=env,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    ).stdout

    assert list((tmp_path / "prometheus").glob("counter_*.db"))
    counts = [
        line
        for line in out.splitlines()
        if line.startswith("django_http_requests_latency_seconds_by_view_method_count{")
        and 'view="accessibility"' in line
    ]
    assert len(counts) == 1
    assert counts[0].endswith(" 6.0")
