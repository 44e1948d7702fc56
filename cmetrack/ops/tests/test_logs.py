"""Structured logs: a request id on every line and on the response; nothing personal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

#: What the production run printed (the request id it got back) and its log records.
ProductionRun = tuple[str, list[dict[str, Any]]]

# Run under the production settings: a signed-in officer's search (a name in the query
# string), then an anonymous probe with the proxy's request id.
PRODUCTION_SCRIPT = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client, override_settings
# The pages' static files without collectstatic's manifest (not what this test is about).
override_settings(STORAGES={
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}).enable()
from cmetrack.accounts.models import User, UserRole
user = User.objects.create_user(email="jo.bloggs@example.gov.uk", full_name="Jo Bloggs",
                                password="a-long-password-2026")
UserRole.objects.create(user=user, role="cme_officer")
client = Client()
client.force_login(user)
queue = client.get("/cases/?q=Featherstonehaugh+Wilhelmina", secure=True,
                   HTTP_X_REQUEST_ID="proxy-id-1")
assert queue.status_code == 200, queue.status_code
response = client.get("/health/?token=sekrit", secure=True, HTTP_X_REQUEST_ID="proxy-id-2")
print(response["X-Request-ID"])
"""


@pytest.fixture(scope="module")
def production_run(tmp_path_factory: pytest.TempPathFactory) -> ProductionRun:
    var = tmp_path_factory.mktemp("var")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CMETRACK_", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="cmetrack.config.settings.production",
        SECRET_KEY=uuid.uuid4().hex * 2,
        DATABASE_URL=f"sqlite:///{var / 'db.sqlite3'}",
        ALLOWED_HOSTS="testserver",
        CMETRACK_VAR_DIR=str(var),
        CMETRACK_REQUIRE_2FA="false",
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", PRODUCTION_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    # Every line on standard error is one JSON object.
    records = [json.loads(line) for line in lines]
    return result.stdout.strip(), records


def test_production_log_lines_are_json_with_the_request_id(
    production_run: ProductionRun,
) -> None:
    returned_id, records = production_run

    finished = [r for r in records if r.get("event") == "request_finished"]
    by_id = {r["request_id"]: r for r in finished}
    assert set(by_id) >= {"proxy-id-1", "proxy-id-2"}
    assert by_id["proxy-id-2"]["request"] == "GET /health/"
    assert by_id["proxy-id-2"]["code"] == 200 or by_id["proxy-id-2"]["code"] == 503
    assert by_id["proxy-id-1"]["request"] == "GET /cases/"
    assert isinstance(by_id["proxy-id-1"]["user_id"], int)
    assert {"timestamp", "level", "logger"} <= set(by_id["proxy-id-1"])
    assert returned_id == "proxy-id-2"


def test_production_logs_hold_no_query_string_name_or_email(
    production_run: ProductionRun,
) -> None:
    _, records = production_run
    text = json.dumps(records)

    for personal in ("Featherstonehaugh", "Wilhelmina", "jo.bloggs", "Jo Bloggs", "sekrit", "?"):
        assert personal not in text


def test_response_carries_a_generated_request_id(client: Client) -> None:
    first = client.get("/accessibility/")["X-Request-ID"]
    second = client.get("/accessibility/")["X-Request-ID"]

    assert uuid.UUID(first)
    assert uuid.UUID(second)
    assert first != second


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("a1b2c3d4e5f60718293a4b5c6d7e8f90", True),
        ("f81d4fae-7dec-11d0-a765-00a0c91e6bf6", True),
        ("bad id\nwith a newline", False),
        ("x" * 500, False),
        ("<script>", False),
    ],
)
def test_proxy_request_id_is_kept_only_when_sensible(client: Client, sent: str, kept: bool) -> None:
    returned = client.get("/accessibility/", HTTP_X_REQUEST_ID=sent)["X-Request-ID"]

    if kept:
        assert returned == sent
    else:
        assert returned != sent
        uuid.UUID(returned)


def test_log_lines_in_a_request_carry_its_id(client: Client, caplog: Any) -> None:
    caplog.set_level("INFO")

    response = client.get("/accessibility/?name=Smith", HTTP_X_REQUEST_ID="rid-77")

    finished = [r.msg for r in caplog.records if isinstance(r.msg, dict)]
    assert any(
        m.get("event") == "request_finished"
        and m.get("request_id") == "rid-77"
        and m.get("request") == "GET /accessibility/"
        for m in finished
    )
    assert response["X-Request-ID"] == "rid-77"
    assert "Smith" not in caplog.text
