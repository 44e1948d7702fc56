"""The tracking pages through Django's test client: forms, their GOV.UK error messages,
nothing saved on error, the queues, navigation and the home page section."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.casework.forms import ContactForm, GovukDateField, NoteForm, TaskForm
from cmetrack.casework.models import (
    AddressSearchCheck,
    AddressSearchSource,
    CaseNote,
    ContactAttempt,
    Task,
)
from cmetrack.casework.presenters import error_list
from cmetrack.core.presenters import HomePresenter, navigation_for

from .factories import open_case

pytestmark = pytest.mark.django_db

#: Stand for next year's number and for today's day, month and year, worked out when the test
#: runs (not when it is collected: a run that crosses midnight would otherwise test yesterday).
NEXT_YEAR = "next year"
TODAY = "today"


def parts(prefix: str, d: dt.date | None = None, **override: str) -> dict[str, str]:
    today = timezone.localdate()
    d = d or today
    values = {"day": str(d.day), "month": str(d.month), "year": str(d.year), **override}
    return {f"{prefix}-{k}": v for k, v in values.items()}


@pytest.mark.parametrize(
    ("day", "month", "year", "message"),
    [
        ("", "", "", "Enter the date of the attempt"),
        ("3", "", "", "The date of the attempt must include a month and year"),
        ("", "4", "2026", "The date of the attempt must include a day"),
        ("31", "2", "2026", "The date of the attempt must be a real date"),
        ("1", "13", "2026", "The date of the attempt must be a real date"),
        ("x", "1", "2026", "The date of the attempt must be a real date"),
        ("1", "1", "26", "The date of the attempt must be a real date"),
        ("1", "1", NEXT_YEAR, "The date of the attempt must be today or in the past"),
        (TODAY, TODAY, TODAY, None),
    ],
)
def test_date_field_messages(day, month, year, message, today):
    if year == NEXT_YEAR:
        year = str(today.year + 1)
    if day == TODAY:
        day, month, year = str(today.day), str(today.month), str(today.year)
    field = GovukDateField(what="the date of the attempt", when="past")
    if message is None:
        assert field.clean([day, month, year]) == today
    else:
        with pytest.raises(ValidationError) as exc:
            field.clean([day, month, year])
        assert exc.value.messages == [message]


def test_due_date_must_not_be_past(today):
    field = GovukDateField(what="the due date", when="future")
    yesterday = today - dt.timedelta(days=1)
    with pytest.raises(ValidationError, match="The due date must be today or in the future"):
        field.clean([str(yesterday.day), str(yesterday.month), str(yesterday.year)])


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {},
            {
                "method": "Select how you tried to make contact",
                "date": "Enter the date of the attempt",
                "with_whom": "Enter who you tried to contact",
                "outcome": "Select the outcome of the attempt",
            },
        ),
        (
            {"contact-method": "pigeon", "contact-time": "25:00", "contact-with_whom": "x" * 201},
            {
                "method": "Select how you tried to make contact",
                "time": "Enter the time in 24-hour format, like 14:30",
                "with_whom": "Who you contacted must be 200 characters or fewer",
            },
        ),
    ],
)
def test_contact_form_messages(data, errors):
    form = ContactForm(data)
    assert not form.is_valid()
    for name, message in errors.items():
        assert form.errors[name] == [message]


def test_contact_form_time_formats():
    base = {
        "contact-method": "phone",
        **parts("contact-date"),
        "contact-with_whom": "Mum",
        "contact-outcome": "successful",
    }
    for raw, expected in (("9:05", dt.time(9, 5)), ("14.30", dt.time(14, 30)), ("", None)):
        form = ContactForm({**base, "contact-time": raw})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["time"] == expected


def test_note_and_task_forms():
    assert NoteForm({"note-text": " "}).errors["text"] == ["Enter the note"]
    form = TaskForm({"task-owner": "999"}, owners=[])
    assert form.errors["owner"] == ["Select someone who works on this case"]
    assert form.errors["title"] == ["Enter what needs to be done"]
    assert form.errors["due"] == ["Enter the due date"]
    # The error summary lists the fields in page order, linking to the first box of a date.
    assert [e["href"] for e in error_list(form)] == [
        "#id_task-title",
        "#id_task-owner",
        "#id_task-due-day",
    ]


@pytest.fixture
def officer(make_user):
    return make_user(Role.CME_OFFICER, full_name="Olive Officer")


@pytest.fixture
def signed_in(client, officer):
    client.force_login(officer)
    return client


def test_tracking_page_shows_the_checklist_and_forms(signed_in, officer):
    case = open_case(officer=officer)
    response = signed_in.get(reverse("casework:case-tracking", args=[case.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Tracking work: " in html
    assert "0 of 10 sources recorded." in html
    # Every Result cell says something (an empty one once fell back to an undefined "text").
    checklist = html.split('id="checklist"')[1].split("</table>")[0]
    assert checklist.count("Not recorded") == 10
    # One form for the whole checklist (no longer ten).
    assert html.count(f'action="/cases/{case.pk}/tracking/checks/"') == 1
    for source in AddressSearchSource.objects.all():
        assert f'name="check-{source.pk}-status"' in html
        assert f'name="check-{source.pk}-date-day"' in html
    assert html.count("There is a problem") == 0


def _counts() -> tuple[int, ...]:
    return (
        AddressSearchCheck.objects.count(),
        ContactAttempt.objects.count(),
        CaseNote.objects.count(),
        Task.objects.count(),
        # The page shown again is a read of the child's record (audited as a view); nothing
        # else may be recorded.
        AuditEvent.objects.exclude(action=AuditAction.VIEW).count(),
    )


@pytest.mark.parametrize(
    ("form", "data", "messages"),
    [
        ("contact-record", {"contact-method": "phone"}, ["Enter the date of the attempt"]),
        ("note-add", {"note-text": ""}, ["Enter the note"]),
        ("task-add", {"task-title": "x"}, ["Select who will do the task", "Enter the due date"]),
        (
            "check",
            {"status": "checked", "result": "found"},
            ["Enter the date you checked this source", "Enter what you found"],
        ),
    ],
)
def test_form_errors_show_a_summary_and_save_nothing(signed_in, officer, form, data, messages):
    case = open_case(officer=officer)
    if form == "check":
        source = AddressSearchSource.objects.get(name="Health")
        url = reverse("casework:check-record", args=[case.pk, source.pk])
        data = {f"check-{source.pk}-{k}": v for k, v in data.items()}
    else:
        url = reverse(f"casework:{form}", args=[case.pk])
    before = _counts()
    response = signed_in.post(url, data)
    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r"<title>Error: Tracking work", html)
    assert "There is a problem" in html
    summary = html[
        html.index("govuk-error-summary") : html.index("</ul>", html.index("govuk-error-summary"))
    ]
    for message in messages:
        assert message in summary
        assert html.count(message) == 2, message  # the summary and the field
    assert _counts() == before


def test_successful_posts_redirect_with_a_banner(signed_in, officer):
    case = open_case(officer=officer)
    url = reverse("casework:note-add", args=[case.pk])
    response = signed_in.post(url, {"note-text": "Spoke to the school office."}, follow=True)
    assert response.redirect_chain == [
        (reverse("casework:case-tracking", args=[case.pk]) + "#notes", 302)
    ]
    html = response.content.decode()
    assert "Note added" in html
    assert "Spoke to the school office." in html


def test_task_complete_twice_says_it_is_done(signed_in, officer, today):
    case = open_case(officer=officer)
    task = Task.objects.create(case=case, title="Ring GP", owner=officer, due=today)
    url = reverse("casework:task-complete", args=[case.pk, task.pk])
    assert "Task marked as done: Ring GP" in signed_in.post(url, follow=True).content.decode()
    assert "This task is already done." in signed_in.post(url, follow=True).content.decode()


def test_my_tasks_and_no_contact_queues(signed_in, officer, django_assert_max_num_queries, today):
    cases = [open_case(officer=officer, referred_days_ago=40 + i) for i in range(3)]
    for i, case in enumerate(cases):
        Task.objects.create(
            case=case, title=f"Task {i}", owner=officer, due=today - dt.timedelta(days=i)
        )
    with django_assert_max_num_queries(12):
        html = signed_in.get(reverse("casework:my-tasks")).content.decode()
    assert html.index("Task 2") < html.index("Task 1") < html.index("Task 0")
    assert "2 tasks are overdue." in html
    with django_assert_max_num_queries(12):
        html = signed_in.get(reverse("casework:no-recent-contact")).content.decode()
    assert "3 cases." in html
    assert html.index(cases[2].reference) < html.index(cases[0].reference)
    assert "None since referral on" in html


def test_navigation_has_tasks_for_case_workers(make_user):
    cases = [
        (Role.CME_OFFICER, True),
        (Role.SLO, True),
        (Role.AUDITOR, False),
        (Role.SCHOOL_USER, False),
        (Role.SAFEGUARDING_ADVISER, False),
    ]
    for role, expected in cases:
        texts = [i["text"] for i in navigation_for(make_user(role), "/")]
        assert ("Tasks" in texts) is expected, role


def test_home_shows_tasks_due_only_when_there_are_some_overdue_first(officer, today):
    case = open_case(officer=officer)
    titles = lambda: [s.title for s in HomePresenter(officer).sections]  # noqa: E731
    assert "Your tasks due" not in titles()
    Task.objects.create(case=case, title="Later", owner=officer, due=today + dt.timedelta(days=3))
    Task.objects.create(case=case, title="Now", owner=officer, due=today)
    Task.objects.create(case=case, title="Late", owner=officer, due=today - dt.timedelta(days=1))
    Task.objects.create(case=case, title="Far", owner=officer, due=today + dt.timedelta(days=30))
    sections = HomePresenter(officer).sections
    # Something overdue puts the section first, above the open cases.
    assert sections[0].title == "Your tasks due"
    section = sections[0]
    assert (section.total, section.overdue, section.due_today) == (3, 1, 1)
    assert [r.cells[0] for r in section.rows] == ["Late", "Now", "Later"]
    assert [r.tag[0] for r in section.rows if r.tag] == ["Overdue", "Today", "This week"]
    assert section.rows[0].href == reverse("casework:case-tracking", args=[case.pk]) + "#tasks"


def _fill(case: Any, officer: Any, n: int) -> None:
    today = timezone.localdate()
    from cmetrack.audit.services import Actor
    from cmetrack.casework import services

    actor = Actor(user=officer)
    sources = list(AddressSearchSource.objects.all()[:n])
    for i in range(n):
        services.address_check_record(
            actor=actor, case=case, source=sources[i % len(sources)], status="not_available"
        )
        services.contact_attempt_record(
            actor=actor, case=case, method="phone", date=today, with_whom=f"P{i}",
            outcome="no_answer",
        )  # fmt: skip
        services.case_note_add(actor=actor, case=case, text=f"Note {i}")
        services.task_create(actor=actor, case=case, title=f"T{i}", owner=officer, due=today)


@pytest.mark.parametrize(
    "url",
    ["casework:case-tracking", "casework:my-tasks", "casework:no-recent-contact"],
)
def test_pages_make_the_same_number_of_queries_however_many_rows(client, officer, url):
    """No query per row: 2 and 6 of everything cost the same."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(officer)
    counts = []
    for n in (2, 6):
        case = open_case(officer=officer, referred_days_ago=60)
        _fill(case, officer, n)
        open_case(officer=officer, referred_days_ago=60)  # one more row in the queue
        path = reverse(url, args=[case.pk]) if url.endswith("tracking") else reverse(url)
        client.get(path)  # caches and session writes of a first request are not rows
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_the_checklist_is_one_form_recording_all_or_nothing(signed_in, officer):
    case = open_case(officer=officer)
    health = AddressSearchSource.objects.get(name="Health")
    others = AddressSearchSource.objects.exclude(pk=health.pk).order_by("pk")[:2]
    today = timezone.localdate()
    data = {
        f"check-{health.pk}-status": "checked",
        f"check-{health.pk}-date-day": str(today.day),
        f"check-{health.pk}-date-month": str(today.month),
        f"check-{health.pk}-date-year": str(today.year),
        f"check-{health.pk}-result": "found",
        f"check-{health.pk}-details": "Registered with a GP in Leeds",
        f"check-{others[0].pk}-status": "not_available",
        # A third source chosen but incomplete: nothing at all is saved.
        f"check-{others[1].pk}-status": "checked",
    }
    url = reverse("casework:checklist-record", args=[case.pk])
    refused = signed_in.post(url, data)
    assert refused.status_code == 200
    assert "There is a problem" in refused.content.decode()
    assert not AddressSearchCheck.objects.exists()
    del data[f"check-{others[1].pk}-status"]
    saved = signed_in.post(url, data)
    assert saved.status_code == 302
    assert AddressSearchCheck.objects.filter(case=case).count() == 2
    nothing = signed_in.post(url, {})
    assert "Select what you found for at least one source" in nothing.content.decode()
