"""Feeds without uploads (issue 18, item 3): the push API and the drop folder."""

from __future__ import annotations

import io
import json
import os
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.accounts.services import api_token_create
from cmetrack.audit.services import Actor
from cmetrack.detection import feeds
from cmetrack.detection.models import AdmissionAllocation, ImportRun, ImportStatus
from cmetrack.detection.tests.factories import TermFactory, make_upn, school
from cmetrack.jobs.status import pending_args
from cmetrack.registers.models import RollSnapshot

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
U1, U2 = make_upn(1), make_upn(2)
ALLOC = "laestab,upn,legal_given_name,legal_family_name,dob,expected_start\n"


@pytest.fixture(autouse=True)
def var(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path / "var"
    settings.ATTENDANCE_DIR = str(tmp_path / "var" / "attendance")
    return tmp_path / "var"


@pytest.fixture
def schools() -> tuple[Any, Any]:
    return school(estab="2001"), school(estab="2002")


def token_for(user: Any) -> str:
    _, raw = api_token_create(actor=SYSTEM, user=user, name="MIS")
    return raw


def push(token: str, kind: str, body: bytes, **headers: str) -> Any:
    content_type = headers.pop("content_type", "text/csv")
    query = headers.pop("query", "")
    extra: dict[str, Any] = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return Client().generic(
        "POST", f"/api/v1/feeds/{kind}{query}", body, content_type=content_type, **extra
    )


def alloc(laestab: str, upn: str) -> str:
    return f"{laestab},{upn},Amira,Khan,2014-05-01,2025-09-03\n"


def test_a_school_token_pushes_its_own_csv_and_a_repeat_batch_is_harmless(
    schools: Any,
) -> None:
    ours, _ = schools
    token = token_for(feeds.school_feed_account(actor=SYSTEM, school=ours))
    body = (ALLOC + alloc("9992001", U1) + alloc("9992001", U2)).encode()
    first = push(token, "allocations", body, **{"Idempotency-Key": "batch-1"})
    assert first.status_code == 201, first.content
    data = first.json()
    assert (data["rows"], data["changed"], data["repeated"], data["batch"]) == (
        2,
        2,
        False,
        "batch-1",
    )
    assert "Detection" in data["detection"]
    assert pending_args("cmetrack.detection.jobs.detect_today", waiting_only=True)
    again = push(token, "allocations", body, **{"X-Batch-Id": "batch-1"})
    assert again.status_code == 200
    assert again.json()["repeated"] is True
    assert again.json()["run"] == data["run"]
    assert ImportRun.objects.count() == 1
    assert AdmissionAllocation.objects.count() == 2
    other = push(
        token, "allocations", (ALLOC + alloc("9992001", U1)).encode(), query="?batch=batch-1"
    )
    assert other.status_code == 422
    assert "already sent with different data" in other.json()["detail"]


def test_a_school_token_may_not_send_another_schools_rows(schools: Any) -> None:
    ours, _ = schools
    token = token_for(feeds.school_feed_account(actor=SYSTEM, school=ours))
    response = push(token, "allocations", (ALLOC + alloc("9992002", U1)).encode())
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["line"] == 2
    assert problem["errors"][0]["field"] == "laestab"
    assert "only send data for your own school" in problem["errors"][0]["message"]
    assert not AdmissionAllocation.objects.exists()


def test_json_lines_with_errors_by_body_line(schools: Any) -> None:
    ours, _ = schools
    token = token_for(feeds.school_feed_account(actor=SYSTEM, school=ours))
    rows = [
        {"laestab": "9992001", "upn": U1, "legal_given_name": "Amira",
         "legal_family_name": "Khan", "dob": "2014-05-01", "expected_start": "2025-09-03"},
        {"laestab": "9992001", "upn": "A12", "legal_given_name": "Sam",
         "legal_family_name": "Khan", "dob": "2014-05-01", "expected_start": "2025-09-03"},
    ]  # fmt: skip
    body = (json.dumps(rows[0]) + "\n\n" + json.dumps(rows[1]) + "\n").encode()
    response = push(token, "allocations", body, content_type="application/x-ndjson")
    assert response.status_code == 422
    assert [(e["line"], e["field"]) for e in response.json()["errors"]] == [(3, "upn")]
    good = (json.dumps(rows[0]) + "\n").encode()
    ok = push(token, "allocations", good, content_type="application/x-ndjson")
    assert ok.status_code == 201, ok.content
    assert AdmissionAllocation.objects.get().upn == U1


def test_a_large_body_is_streamed_to_storage_and_queued(
    schools: Any, settings: Any, var: Path
) -> None:
    settings.CMETRACK_IMPORT_BACKGROUND_BYTES = 100
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50  # the body is never read into memory
    ours, _ = schools
    token = token_for(feeds.school_feed_account(actor=SYSTEM, school=ours))
    body = (ALLOC + alloc("9992001", U1) + alloc("9992001", U2)).encode()
    response = push(token, "allocations", body)
    assert response.status_code == 202, response.content
    run = ImportRun.objects.get(pk=response.json()["run"])
    assert run.status == ImportStatus.QUEUED
    assert Path(run.upload_path).read_bytes() == body
    assert not list((var / "feeds" / "incoming").glob("*"))


def test_a_body_over_the_limit_is_refused(schools: Any, settings: Any) -> None:
    settings.CMETRACK_FEED_MAX_BYTES = 10
    token = token_for(feeds.school_feed_account(actor=SYSTEM, school=schools[0]))
    response = push(token, "allocations", (ALLOC + alloc("9992001", U1)).encode())
    assert response.status_code == 413
    assert not ImportRun.objects.exists()


def test_unknown_feed_and_no_permission(schools: Any, make_user: Any) -> None:
    token = token_for(feeds.school_feed_account(actor=SYSTEM, school=schools[0]))
    assert push(token, "marks", b"x").status_code == 404
    agency = make_user(Role.AGENCY_USER)
    assert push(token_for(agency), "allocations", b"x").status_code == 403


def test_a_feed_token_only_sends_feeds_and_other_tokens_keep_the_api(
    schools: Any, make_user: Any
) -> None:
    feed = token_for(feeds.school_feed_account(actor=SYSTEM, school=schools[0]))
    auth: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {feed}"}
    for path in ("/api/v1/alerts", "/api/v1/me"):
        response = Client().get(path, **auth)
        assert response.status_code == 403, path
        assert "data-feed token" in response.json()["detail"]
    sent = push(feed, "allocations", (ALLOC + alloc(schools[0].laestab, U1)).encode())
    assert sent.status_code == 201, sent.content
    run = Client().get(f"/api/v1/feeds/runs/{sent.json()['run']}", **auth)
    assert run.status_code == 200
    # Another service account of the same school keeps the rest of the API.
    other = make_user(Role.SCHOOL_USER, organisation=schools[0], is_service_account=True)
    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token_for(other)}")
    assert response.status_code == 200


def test_attendance_and_rolls_feeds(schools: Any) -> None:
    TermFactory.create(term_start=date(2025, 9, 3), term_end=date(2025, 12, 19))
    token = token_for(feeds.school_feed_account(actor=SYSTEM, school=schools[0]))
    marks = f"laestab,upn,date,session,code\n9992001,{U1},2025-10-06,AM,N\n".encode()
    response = push(token, "attendance", marks)
    assert response.status_code == 201, response.content
    assert response.json()["changed"] == 1
    roll = (
        "laestab,upn,former_upn,legal_given_name,legal_family_name,preferred_given_name,"
        "preferred_family_name,dob,sex,address,postcode,nc_year,entry_date,enrolment_status\n"
        f"9992001,{U1},,Amira,Khan,,,2014-05-01,F,,,6,,C\n"
    ).encode()
    response = push(token, "rolls", roll, query="?taken_on=2025-10-02")
    assert response.status_code == 201, response.content
    assert RollSnapshot.objects.get().taken_on == date(2025, 10, 2)


# --- The drop folder ------------------------------------------------------------------------


def settle(path: Path) -> None:
    old = time.time() - feeds.DROP_SETTLE_SECONDS - 5
    os.utime(path, (old, old))


def test_the_drop_folder_imports_moves_and_reports(schools: Any, tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    (drop / "9992001" / "allocations").mkdir(parents=True)
    (drop / "allocations").mkdir()
    good = drop / "9992001" / "allocations" / "alloc.csv"
    good.write_text(ALLOC + alloc("9992001", U1))
    bad = drop / "allocations" / "bad.csv"
    bad.write_text(ALLOC + "\n" + alloc("9992001", "A12"))
    wrong_school = drop / "9992001" / "allocations" / "theirs.csv"
    wrong_school.write_text(ALLOC + alloc("9992002", U2))
    arriving = drop / "allocations" / "arriving.csv"
    arriving.write_text(ALLOC)
    for path in (good, bad, wrong_school):
        settle(path)
    results = feeds.drop_folder_scan(root=drop)
    assert len(results) == 3
    assert arriving.exists()  # still arriving: left alone
    done = list((drop / "9992001" / "allocations" / "done").glob("*alloc.csv"))
    assert len(done) == 1
    report = json.loads(Path(f"{done[0]}.report.json").read_text())
    assert (report["status"], report["changed"]) == ("succeeded", 1)
    failed = list((drop / "allocations" / "failed").glob("*bad.csv.report.json"))
    report = json.loads(failed[0].read_text())
    assert [(e["line"], e["column"]) for e in report["errors"]] == [(3, "upn")]
    theirs = list((drop / "9992001" / "allocations" / "failed").glob("*.report.json"))
    assert "only send data for your own school" in theirs[0].read_text()
    assert AdmissionAllocation.objects.count() == 1
    assert feeds.drop_folder_scan(root=drop) == []  # nothing left to do


def test_an_upload_through_the_page_says_when_alerts_will_appear(
    schools: Any, make_user: Any
) -> None:
    client = Client()
    client.force_login(make_user(Role.CME_OFFICER))
    response = client.post(
        "/alerts/upload/",
        {
            "kind": "allocations",
            "file": SimpleUploadedFile(
                "a.csv", (ALLOC + alloc("9992001", U1)).encode(), "text/csv"
            ),
        },
    )
    page = response.content.decode()
    assert response.status_code == 200, page
    assert 'id="when-alerts"' in page
    assert "no background worker is running" in page  # none in the tests
    assert pending_args("cmetrack.detection.jobs.detect_today", waiting_only=True)


def test_feed_token_command_issues_a_school_token(schools: Any) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("feed_token", "9992001", stdout=out, stderr=err)
    token = out.getvalue().strip()
    assert token.startswith("cme_")
    response = push(token, "allocations", (ALLOC + alloc("9992001", U1)).encode())
    assert response.status_code == 201, response.content
    with pytest.raises(CommandError, match="not the LAESTAB"):
        call_command("feed_token", "1234567", stdout=out, stderr=err)
