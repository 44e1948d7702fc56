"""The auditors' search and export: auditors only, filters, keyset pages, safe CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.selectors import (
    EXPORT_FIELDS,
    AuditFilters,
    Cursor,
    audit_export_values,
    audit_page,
    audit_search,
)
from cmetrack.audit.services import Actor, audit_record

pytestmark = pytest.mark.django_db
SEARCH = "/audit/"
EXPORT = "/audit/export.csv"


@pytest.fixture
def auditor(make_user):
    return make_user(Role.AUDITOR)


@pytest.mark.parametrize("role", [r for r in Role if r != Role.AUDITOR])
def test_only_auditors_reach_the_pages(client, make_user, role):
    client.force_login(make_user(role))
    assert client.get(SEARCH).status_code == 403
    assert client.get(EXPORT).status_code == 403
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_anonymous_is_sent_to_sign_in(client):
    assert client.get(SEARCH)["Location"].startswith("/sign-in/")


def test_filters(auditor, client):
    audit_record(actor=Actor(user=None, label="a@example.org"), action="view", child_id=7,
                 summary="Viewed seven")  # fmt: skip
    audit_record(actor=Actor(user=None, label="b@example.org"), action="view", child_id=8,
                 summary="Viewed eight")  # fmt: skip
    audit_record(actor=Actor(user=None, label="unknown: a@example.org"), action="sign_in_failed",
                 summary="Failed sign-in as a@example.org")  # fmt: skip
    client.force_login(auditor)

    def summaries(**params):
        page = client.get(SEARCH, params)
        assert page.status_code == 200
        return {s for s in ("Viewed seven", "Viewed eight", "Failed sign-in as a@example.org")
                if s in page.content.decode()}  # fmt: skip

    assert summaries(user="A@example.org") == {"Viewed seven", "Failed sign-in as a@example.org"}
    assert summaries(child="8") == {"Viewed eight"}
    assert summaries(action="sign_in_failed") == {"Failed sign-in as a@example.org"}
    today = timezone.localdate()
    assert summaries(from_day=today.day, from_month=today.month, from_year=today.year) == {
        "Viewed seven", "Viewed eight", "Failed sign-in as a@example.org"}  # fmt: skip
    tomorrow = today + dt.timedelta(days=1)
    assert (
        summaries(from_day=tomorrow.day, from_month=tomorrow.month, from_year=tomorrow.year)
        == set()
    )
    assert summaries(to_day=today.day, to_month=today.month, to_year=today.year - 1) == set()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"child": "abc"}, "Child record number must be a number"),
        ({"user": "not-an-email"}, "Enter an email address in the correct format"),
        ({"from_day": "31", "from_month": "2", "from_year": "2026"}, "must be a real date"),
        ({"from_day": "1", "from_year": "2026"}, "Date from must include a day, month and year"),
        (
            {"from_day": "2", "from_month": "1", "from_year": "2026",
             "to_day": "1", "to_month": "1", "to_year": "2026"},
            "Date to must be the same as or after date from",
        ),
    ],
)  # fmt: skip
def test_errors_are_shown_the_govuk_way(auditor, client, params, message):
    client.force_login(auditor)
    page = client.get(SEARCH, params).content.decode()
    assert "There is a problem" in page
    assert message in page
    assert "<title>Error: Audit trail" in page


def test_keyset_pages_cover_every_row_once():
    for i in range(23):
        audit_record(actor=Actor.system("t"), action="view", summary=f"row {i}")
    seen: list[int] = []
    after: Cursor | None = None
    while True:
        rows, after = audit_page(audit_search(AuditFilters()), after=after, size=5)
        seen.extend(r.pk for r in rows)
        if after is None:
            break
    assert len(seen) == 23 == len(set(seen))
    assert seen == sorted(seen, reverse=True)


def test_export_values_read_every_row_once_in_order():
    for i in range(11):
        audit_record(actor=Actor.system("t"), action="view", summary=f"row {i}")
    audit_record(actor=Actor.system("t"), action="export", summary="other")
    rows = list(audit_export_values(audit_search(AuditFilters(action="view")), size=4))
    assert [r[EXPORT_FIELDS.index("summary")] for r in rows] == [
        f"row {i}" for i in range(10, -1, -1)
    ]
    assert all(len(r) == len(EXPORT_FIELDS) for r in rows)


def test_cursor_round_trip_and_garbage():
    now = timezone.now()
    assert Cursor.decode(Cursor(at=now, id=5).encode()) == Cursor(at=now, id=5)
    assert Cursor.decode("nonsense") is None
    assert Cursor.decode("2026-01-01T00:00:00_3") is None  # naive times are refused


def test_pages_link_to_older_events(auditor, client):
    for i in range(60):
        audit_record(actor=Actor.system("t"), action="view", summary=f"row {i}")
    client.force_login(auditor)
    first = client.get(SEARCH).content.decode()
    assert "Older events" in first
    assert "row 59" in first
    assert "row 5<" not in first


def test_export_is_audited_and_protected_against_formula_injection(auditor, client):
    audit_record(actor=Actor(user=None, label="=HYPERLINK(\"http://evil\")"), action="view",
                 summary="+SUM(A1:A2)")  # fmt: skip
    audit_record(actor=Actor(user=None, label="@cmd"), action="view", summary="-2+3")
    client.force_login(auditor)
    response = client.get(EXPORT, {"action": "view"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:2] == ["When", "Who"]
    cells = {cell for row in rows[1:] for cell in row}
    assert '\'=HYPERLINK("http://evil")' in cells
    assert "'+SUM(A1:A2)" in cells
    assert "'@cmd" in cells
    assert "'-2+3" in cells
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)
    export = AuditEvent.objects.get(action=AuditAction.EXPORT)
    assert export.actor_id == auditor.pk
    assert "action=view" in export.summary


def test_audit_rows_cannot_be_changed_through_the_pages(auditor, client):
    row = audit_record(actor=Actor.system("t"), action="view", summary="kept")
    client.force_login(auditor)
    assert client.post(SEARCH, {"summary": "changed"}).status_code == 405
    row.refresh_from_db()
    assert row.summary == "kept"


def test_auditor_reads_the_trail_but_not_a_childs_record(auditor, client):
    from cmetrack.people.tests.factories import ChildFactory

    child = ChildFactory.create(legal_family_name="Quillfeather")
    audit_record(actor=Actor.system("t"), action="view", child_id=child.pk, summary="Viewed")
    client.force_login(auditor)
    assert client.get(SEARCH, {"child": child.pk}).status_code == 200
    page = client.get(f"/children/{child.pk}/")
    assert page.status_code == 404
    assert "Quillfeather" not in page.content.decode()
