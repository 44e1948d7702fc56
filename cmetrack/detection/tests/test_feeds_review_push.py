"""Review of the push API (issue 18, item 3a): what a real integrator sends.

Each test tries something an MIS or its integrator does (a token for another school, a
revoked or expired token, a batch sent again, a gzip or chunked body, JSON lines) and
checks the answer against what docs/data-feeds.md promises.
"""

from __future__ import annotations

import gzip
import io
import json
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.utils import timezone

from cmetrack.accounts.models import ApiToken
from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.detection import feeds, jobs
from cmetrack.detection.models import AdmissionAllocation, ImportRun, ImportStatus
from cmetrack.detection.tests.factories import TermFactory, make_upn, school
from cmetrack.detection.tests.test_feeds import ALLOC, alloc, push, token_for
from cmetrack.registers.models import RollSnapshot

from . import test_feeds

pytestmark = pytest.mark.django_db
var = test_feeds.var  # the feeds tests' var folder (autouse)
SYSTEM = Actor.system("test")
U1, U2 = make_upn(1), make_upn(2)
ROLL = (
    "laestab,upn,former_upn,legal_given_name,legal_family_name,preferred_given_name,"
    "preferred_family_name,dob,sex,address,postcode,nc_year,entry_date,enrolment_status\n"
)
ROW = {
    "laestab": "9992001",
    "upn": U1,
    "legal_given_name": "Amira",
    "legal_family_name": "Khan",
    "dob": "2014-05-01",
    "expected_start": "2025-09-03",
}


@pytest.fixture
def token() -> str:
    """School A's (LAESTAB 9992001) feed token; school B (9992002) exists too."""
    ours = school(estab="2001")
    school(estab="2002")
    return token_for(feeds.school_feed_account(actor=SYSTEM, school=ours))


def run_queued(pk: int) -> ImportRun:
    claimed = jobs.import_claim(worker="w", run_id=pk)
    assert claimed is not None
    return jobs.import_process(claimed)


def lines(response: Any) -> list[tuple[int, str]]:
    return [(e["line"], e["field"]) for e in response.json()["errors"]]


# --- Who may send what ------------------------------------------------------------------


def test_school_a_token_sending_school_b_attendance_is_refused_by_row(token: str) -> None:
    """A plain attendance file (the DuckDB fast path) is checked for the school as well."""
    TermFactory.create(term_start=date(2025, 9, 3), term_end=date(2025, 12, 19))
    body = (
        "laestab,upn,date,session,code\n"
        f"9992001,{U1},2025-10-06,AM,/\n"
        f"9992002,{U2},2025-10-06,AM,N\n"
    ).encode()
    response = push(token, "attendance", body)
    assert response.status_code == 422
    assert lines(response) == [(3, "laestab")]  # only the other school's row, on its line
    assert "only send data for your own school" in response.json()["errors"][0]["message"]
    run = ImportRun.objects.get()
    assert (run.status, run.created) == (ImportStatus.FAILED, 0)  # nothing of it stored


def test_school_a_token_sending_school_b_deletions_and_roll_is_refused(token: str) -> None:
    deletion = (
        "laestab,upn,legal_given_name,legal_family_name,dob,ground,deleted_on\n"
        f"9992002,{U1},Amira,Khan,2014-05-01,a,2025-10-06\n"
    ).encode()
    assert lines(push(token, "deletions", deletion)) == [(2, "laestab")]
    roll = (ROLL + f"9992002,{U1},,Amira,Khan,,,2014-05-01,F,,,6,,C\n").encode()
    assert lines(push(token, "rolls", roll, query="?taken_on=2025-10-02")) == [(2, "laestab")]
    assert not RollSnapshot.objects.exists()


def test_revoked_and_expired_tokens_are_refused(token: str) -> None:
    body = (ALLOC + alloc("9992001", U1)).encode()
    ApiToken.objects.update(revoked_at=timezone.now())
    assert push(token, "allocations", body).status_code == 401
    ApiToken.objects.update(revoked_at=None, expires_at=timezone.now() - timedelta(seconds=1))
    assert push(token, "allocations", body).status_code == 401
    assert not ImportRun.objects.exists()


# --- Batch ids --------------------------------------------------------------------------------


def test_a_repeat_gives_the_same_answer_and_another_body_is_refused(token: str) -> None:
    body = (ALLOC + alloc("9992001", U1)).encode()
    first = push(token, "allocations", body, **{"Idempotency-Key": "b-1"})
    again = push(token, "allocations", body, **{"Idempotency-Key": "b-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    first_data, again_data = first.json(), again.json()
    assert again_data.pop("repeated") is True
    assert first_data.pop("repeated") is False
    first_data.pop("detection"), again_data.pop("detection")
    assert again_data == first_data  # same run, rows and counts
    other = push(
        token, "allocations", (ALLOC + alloc("9992001", U2)).encode(), **{"Idempotency-Key": "b-1"}
    )
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert "already sent with different data" in other.json()["detail"]
    assert list(AdmissionAllocation.objects.values_list("upn", flat=True)) == [U1]  # not U2
    assert ImportRun.objects.count() == 1


def test_a_queued_batch_that_failed_does_not_use_up_its_id(token: str, settings: Any) -> None:
    """Docs: "A refused file does not use up its id". A large (queued) file whose import
    failed used to keep its id: the same body again answered the old failure, and the
    corrected file was refused as "already sent with different data"."""
    settings.CMETRACK_IMPORT_BACKGROUND_BYTES = 50
    bad = (ALLOC + alloc("9992001", "A12")).encode()
    queued = push(token, "allocations", bad, **{"Idempotency-Key": "big-1"})
    assert queued.status_code == 202
    assert run_queued(queued.json()["run"]).status == ImportStatus.FAILED
    corrected = push(
        token,
        "allocations",
        (ALLOC + alloc("9992001", U1)).encode(),
        **{"Idempotency-Key": "big-1"},
    )
    assert corrected.status_code == 202, corrected.content
    assert corrected.json()["repeated"] is False
    assert run_queued(corrected.json()["run"]).status == ImportStatus.SUCCEEDED
    assert AdmissionAllocation.objects.get().upn == U1
    # Now it succeeded, the id is used: the same body again is a harmless repeat.
    repeat = push(
        token,
        "allocations",
        (ALLOC + alloc("9992001", U1)).encode(),
        **{"Idempotency-Key": "big-1"},
    )
    assert (repeat.status_code, repeat.json()["repeated"]) == (200, True)
    assert repeat.json()["run"] == corrected.json()["run"]


def test_a_queued_batch_whose_worker_stopped_can_be_sent_again(token: str, settings: Any) -> None:
    settings.CMETRACK_IMPORT_BACKGROUND_BYTES = 50
    body = (ALLOC + alloc("9992001", U1)).encode()
    queued = push(token, "allocations", body, **{"Idempotency-Key": "big-2"})
    ImportRun.objects.filter(pk=queued.json()["run"]).update(status=ImportStatus.FAILED)
    again = push(token, "allocations", body, **{"Idempotency-Key": "big-2"})
    assert again.status_code == 202
    assert again.json()["run"] != queued.json()["run"]  # imported, not the old failure


def test_a_large_roll_keeps_its_date_when_queued(token: str, settings: Any) -> None:
    """The roll's taken_on was left behind when the body was large enough to be queued,
    and the worker's import then stopped ("an unexpected problem")."""
    settings.CMETRACK_IMPORT_BACKGROUND_BYTES = 50
    roll = (ROLL + f"9992001,{U1},,Amira,Khan,,,2014-05-01,F,,,6,,C\n").encode()
    queued = push(token, "rolls", roll, query="?taken_on=2025-10-02")
    assert queued.status_code == 202
    done = run_queued(queued.json()["run"])
    assert done.status == ImportStatus.SUCCEEDED, done.errors
    assert RollSnapshot.objects.get().taken_on == date(2025, 10, 2)


# --- Bodies ---------------------------------------------------------------------------------


def test_a_gzip_body_is_unpacked(token: str) -> None:
    body = gzip.compress((ALLOC + alloc("9992001", U1)).encode())
    response = push(token, "allocations", body, **{"Content-Encoding": "gzip"})
    assert response.status_code == 201, response.content
    assert response.json()["changed"] == 1


def test_a_gzip_body_is_limited_by_what_it_unpacks_to(token: str, settings: Any, var: Path) -> None:
    settings.CMETRACK_FEED_MAX_BYTES = 1000
    body = gzip.compress(ALLOC.encode() + b"x" * 100_000)  # 100 kB packed into a few hundred
    assert len(body) < 1000
    response = push(token, "allocations", body, **{"Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not ImportRun.objects.exists()
    assert not list((var / "feeds" / "incoming").iterdir())  # no partial file left


def test_a_streamed_body_over_the_limit_leaves_no_partial_file(
    token: str, settings: Any, var: Path
) -> None:
    """A body of no stated length (chunked) is counted as it arrives: what was written of
    it before the limit was left on disk (up to CMETRACK_FEED_MAX_BYTES, each time)."""
    settings.CMETRACK_FEED_MAX_BYTES = 10
    with pytest.raises(feeds.FeedTooLarge):
        feeds.feed_receive(
            actor=SYSTEM, kind="allocations", body=[b"laestab\n", b"9992001\n"], content_type=""
        )
    assert not list((var / "feeds" / "incoming").iterdir())
    assert not ImportRun.objects.exists()


def test_a_body_whose_length_is_over_the_limit_is_refused_before_it_is_read(
    token: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cmetrack.detection import feeds_api

    settings.CMETRACK_FEED_MAX_BYTES = 10

    def not_read(**kwargs: Any) -> None:
        raise AssertionError("the body was read")

    monkeypatch.setattr(feeds_api, "feed_receive", not_read)
    response = push(token, "allocations", (ALLOC + alloc("9992001", U1)).encode())
    assert response.status_code == 413
    assert response.json()["detail"] == "the body is larger than 10 bytes: split it"


def test_a_broken_gzip_body_and_another_encoding_are_refused_clearly(token: str) -> None:
    body = gzip.compress((ALLOC + alloc("9992001", U1)).encode())
    cut = push(token, "allocations", body[:-12], **{"Content-Encoding": "gzip"})
    assert cut.status_code == 422
    assert "gzip body stops before its end" in cut.json()["detail"]
    not_gzip = push(token, "allocations", b"plain text", **{"Content-Encoding": "gzip"})
    assert "not gzip" in not_gzip.json()["detail"]
    brotli = push(token, "allocations", b"x", **{"Content-Encoding": "br"})
    assert brotli.status_code == 415
    assert "Content-Encoding br is not supported" in brotli.json()["detail"]
    assert not ImportRun.objects.exists()


def test_a_chunked_body_with_no_length_is_read(token: str) -> None:
    """gunicorn takes a chunked body apart, but Django reads Content-Length bytes (none):
    the feed used to arrive empty ("the file is empty: it needs a header row")."""
    body = (ALLOC + alloc("9992001", U1)).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/feeds/allocations",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": io.StringIO(),
        "CONTENT_TYPE": "text/csv",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
    }
    answered: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        answered.append(status)
        return lambda data: None

    # As Django's test client does: the handler's request signals would close the test's
    # database connection (inside its transaction) between the request's queries.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        response = WSGIHandler()(environ, start_response)
        content = b"".join(response)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
    assert answered[0].startswith("201"), content
    assert json.loads(content)["changed"] == 1


@pytest.mark.parametrize(
    ("content_type", "words"),
    [
        ("application/json", "application/x-ndjson (one object per line)"),
        ("multipart/form-data; boundary=xx", "not as a form upload"),
        ("application/vnd.ms-excel", "not application/vnd.ms-excel"),
    ],
)
def test_a_wrong_content_type_is_refused_saying_what_to_send(
    token: str, content_type: str, words: str
) -> None:
    response = push(token, "allocations", b'{"laestab": "9992001"}\n', content_type=content_type)
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert words in response.json()["detail"]
    assert not ImportRun.objects.exists()


def test_csv_without_a_csv_content_type_is_still_csv(token: str) -> None:
    """curl --data-binary sends application/x-www-form-urlencoded unless told otherwise."""
    body = (ALLOC + alloc("9992001", U1)).encode()
    response = push(token, "allocations", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201, response.content


# --- JSON lines' line numbers -----------------------------------------------------------------


def test_json_lines_a_bad_line_in_the_middle_is_named(token: str) -> None:
    body = (json.dumps(ROW) + "\n" + '{"upn": \n' + json.dumps(ROW) + "\n").encode()
    response = push(token, "allocations", body, content_type="application/x-ndjson")
    assert response.status_code == 422
    assert [e["line"] for e in response.json()["errors"]] == [2]
    assert response.json()["detail"].startswith("line 2 is not JSON")
    assert not ImportRun.objects.exists()


def test_json_lines_every_line_that_cannot_be_read_is_listed(token: str) -> None:
    """Only the first bad line was named: a body with three had to be sent three times."""
    body = "\n".join(
        [
            json.dumps(ROW),  # 1
            '{"upn": ',  # 2: not JSON
            json.dumps({**ROW, "upn": U2}),  # 3
            "[1, 2]",  # 4: not an object
            json.dumps({**ROW, "dob": {"y": 2014}}),  # 5: a value that is an object
        ]
    ).encode()
    response = push(token, "allocations", body, content_type="application/x-ndjson")
    assert response.status_code == 422
    problem = response.json()
    assert [(e["line"], e["message"].split(":")[0]) for e in problem["errors"]] == [
        (2, "line 2 is not JSON"),
        (4, "line 4 is not a JSON object"),
        (5, "line 5"),
    ]
    assert problem["errors"][2]["message"] == (
        "line 5: dob must be text or a number, not a list or object"
    )
    assert problem["detail"].startswith(
        "3 lines cannot be read as JSON objects (the first: line 2 is not JSON: "
    )
    assert not ImportRun.objects.exists()


def test_json_lines_a_value_with_line_breaks_keeps_the_next_lines_numbers(token: str) -> None:
    """A value with a line break runs over two CSV lines; the problems after it were one
    line too far down."""
    body = "\n".join(
        [
            json.dumps({**ROW, "legal_given_name": "Amira\r\nJane"}),  # line 1
            json.dumps({**ROW, "upn": U2, "legal_given_name": "Sam\nLee\rKhan"}),  # line 2
            "",  # line 3 (blank)
            json.dumps({**ROW, "upn": "A12"}),  # line 4
            json.dumps({**ROW, "upn": make_upn(3), "dob": "not a date"}),  # line 5
        ]
    ).encode()
    response = push(token, "allocations", body, content_type="application/x-ndjson")
    assert response.status_code == 422
    assert lines(response) == [(4, "upn"), (5, "dob")]


def test_json_lines_queued_keep_the_bodys_line_numbers(token: str, settings: Any) -> None:
    """A large body is imported by the worker: its problems were one line too far down."""
    settings.CMETRACK_IMPORT_BACKGROUND_BYTES = 50
    body = "\n".join(
        [
            json.dumps({**ROW, "legal_given_name": "Amira\nJane"}),  # line 1
            json.dumps({**ROW, "upn": "A12"}),  # line 2
        ]
    ).encode()
    queued = push(token, "allocations", body, content_type="application/x-ndjson")
    assert queued.status_code == 202
    done = run_queued(queued.json()["run"])
    assert [(e["line"], e["column"]) for e in done.errors] == [(2, "upn")]
    followed = token_get(token, f"/api/v1/feeds/runs/{done.pk}")
    assert [e["line"] for e in followed["errors"]] == [2]


def test_json_lines_with_a_byte_order_mark_are_read(token: str) -> None:
    """Windows tools (PowerShell's Out-File) start the body with a BOM: line 1 was refused
    ("Unexpected UTF-8 BOM")."""
    body = b"\xef\xbb\xbf" + (json.dumps(ROW) + "\r\n").encode()
    response = push(token, "allocations", body, content_type="application/x-ndjson")
    assert response.status_code == 201, response.content
    assert AdmissionAllocation.objects.get().upn == U1


def test_json_lines_a_good_multiline_value_is_stored_whole(token: str) -> None:
    body = (json.dumps({**ROW, "legal_given_name": "Amira\r\nJane"}) + "\n").encode()
    response = push(token, "allocations", body, content_type="application/x-ndjson")
    assert response.status_code == 201, response.content
    assert AdmissionAllocation.objects.get().legal_given_name == "Amira\nJane"


def token_get(token: str, url: str) -> dict[str, Any]:
    from django.test import Client

    response = Client().get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_feed_line_maps_csv_lines_to_the_body() -> None:
    # No breaks: CSV line n + 1 is body line n; the header (1) and the file (0) are 0.
    assert [jobs.feed_line(n, []) for n in (0, 1, 2, 10)] == [0, 0, 1, 9]
    # A row on body line 2 with one break: from CSV line 5 on, one line less.
    breaks = [[5, 1]]
    assert [jobs.feed_line(n, breaks) for n in (2, 3, 5, 6)] == [1, 2, 3, 4]


# --- The same batch twice at once -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_same_batch_sent_twice_at_once_is_imported_once() -> None:
    """A client that timed out and sent the batch again while the first was still being
    imported: both passed the check (nothing recorded yet) and both were imported."""
    import threading

    from django.db import connection

    ours = school(estab="2001")
    account = feeds.school_feed_account(actor=SYSTEM, school=ours)
    token = token_for(account)
    body = (ALLOC + alloc("9992001", U1)).encode()
    answers: list[Any] = []

    def send() -> None:
        try:
            answers.append(push(token, "allocations", body, **{"Idempotency-Key": "twice"}))
        finally:
            connection.close()

    senders = [threading.Thread(target=send) for _ in range(2)]
    # Both arrive while the batch is held (as by a first request still importing).
    with feeds.batch_lock(f"user:{account.pk}", "feeds.allocations", "twice"):
        for sender in senders:
            sender.start()
        time.sleep(1)
        assert not answers  # waiting
        assert not ImportRun.objects.exists()
    for sender in senders:
        sender.join(timeout=60)
    assert sorted((a.status_code, a.json()["repeated"]) for a in answers) == [
        (200, True),
        (201, False),
    ]
    assert ImportRun.objects.count() == 1
    assert AdmissionAllocation.objects.count() == 1


# --- What a token must not see ----------------------------------------------------------------


def test_a_school_token_cannot_follow_another_schools_run(make_user: Any) -> None:
    from django.test import Client

    ours, theirs = school(estab="2001"), school(estab="2002")
    our_token = token_for(feeds.school_feed_account(actor=SYSTEM, school=ours))
    their_token = token_for(feeds.school_feed_account(actor=SYSTEM, school=theirs))
    sent = push(their_token, "allocations", (ALLOC + alloc("9992002", U1)).encode())
    run = sent.json()["run"]
    url = f"/api/v1/feeds/runs/{run}"
    assert token_get(their_token, url)["run"] == run
    for token in (our_token, token_for(make_user(Role.AGENCY_USER))):
        response = Client().get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 404  # not told it exists
        assert "9992002" not in response.content.decode()
    # A drop folder's authority run (no school): no school sees it either.
    authority = feeds.feed_receive(
        actor=SYSTEM, kind="allocations", body=[(ALLOC + alloc("9992001", U2)).encode()],
        content_type="text/csv",
    )  # fmt: skip
    response = Client().get(
        f"/api/v1/feeds/runs/{authority.run.pk}", HTTP_AUTHORIZATION=f"Bearer {our_token}"
    )
    assert response.status_code == 404


# --- When alerts will appear --------------------------------------------------------------------


def test_the_answer_says_when_alerts_appear_while_a_worker_runs(
    token: str, monkeypatch: pytest.MonkeyPatch, make_user: Any
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    from cmetrack.jobs import status as worker_status

    monkeypatch.setattr(worker_status, "worker_alive", lambda now=None: True)
    body = (ALLOC + alloc("9992001", U1)).encode()
    answer = push(token, "allocations", body, **{"Idempotency-Key": "w-1"}).json()
    assert answer["detection"] == (
        "Detection runs after every feed: new alerts appear within about 5 minutes "
        "(a detection run is queued)."
    )
    # The same batch again changed nothing: it does not promise new alerts.
    again = push(token, "allocations", body, **{"Idempotency-Key": "w-1"}).json()
    assert again["detection"] == (
        "This batch was sent before: nothing was imported again, so the alerts stay as they are."
    )
    # The upload page says the same after a file that changed something.
    client = Client()
    client.force_login(make_user(Role.CME_OFFICER))
    page = client.post(
        "/alerts/upload/",
        {
            "kind": "allocations",
            "file": SimpleUploadedFile("a.csv", (ALLOC + alloc("9992001", U2)).encode()),
        },
    ).content.decode()
    assert "new alerts appear within about 5 minutes" in page
