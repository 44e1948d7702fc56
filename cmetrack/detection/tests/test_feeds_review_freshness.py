"""Review of feed freshness (issue 18, item 4): the count is in SCHOOL days, by hand.

The calendar: spring term 5 January to 13 February 2026, half term 16 to 20 February,
then 23 February to 27 March. 2 March is an authority-wide closure day.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.detection.freshness import feed_freshness, stale_school_days
from cmetrack.detection.jobs import attendance_feeds_stale_tell
from cmetrack.detection.models import AttendancePartition
from cmetrack.detection.tests.factories import TermFactory, school
from cmetrack.notifications.models import Message
from cmetrack.schoolcalendar.models import ClosureDay

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def calendar() -> None:
    TermFactory.create(term_start=D(2026, 1, 5), term_end=D(2026, 2, 13), name="Spring 1")
    TermFactory.create(term_start=D(2026, 2, 23), term_end=D(2026, 3, 27), name="Spring 2")
    ClosureDay.objects.create(school=None, date=D(2026, 3, 2), reason="Snow")


def marks_until(organisation: Any, last: dt.date) -> None:
    AttendancePartition.objects.update_or_create(
        school=organisation, academic_year=2025, defaults={"path": "p", "last_date": last}
    )


def behind(today: dt.date) -> dict[str, int | None]:
    return {r.school.name: r.attendance_school_days_behind for r in feed_freshness(today=today)}


def test_weekends_and_half_term_are_not_counted(calendar: None) -> None:
    ash = school(estab="2001", name="Ash")
    marks_until(ash, D(2026, 2, 12))  # Thursday before half term
    # Wednesday 25 Feb: school days after the 12th up to yesterday (Tue 24th): Fri 13th,
    # Mon 23rd, Tue 24th = 3 (the weekends and half term week are not school days).
    assert behind(D(2026, 2, 25)) == {"Ash": 3}
    assert not feed_freshness(today=D(2026, 2, 25))[0].behind(3)
    assert behind(D(2026, 2, 26)) == {"Ash": 4}  # + Wed 25th
    assert feed_freshness(today=D(2026, 2, 26))[0].behind(3)


def test_closure_days_are_not_counted(calendar: None) -> None:
    ash = school(estab="2001", name="Ash")
    marks_until(ash, D(2026, 2, 27))  # Friday
    # Thursday 5 March: Mon 2nd (closed: snow), Tue 3rd, Wed 4th = 2 school days.
    assert behind(D(2026, 3, 5)) == {"Ash": 2}


def test_a_school_closed_for_the_week_is_not_behind(calendar: None, settings: Any) -> None:
    settings.CMETRACK_FEED_STALE_SCHOOL_DAYS = 3
    closed = school(estab="2001", name="Closed")
    open_ = school(estab="2002", name="Open")
    for day in range(9, 14):  # Monday 9 to Friday 13 March: the school's own closure
        ClosureDay.objects.create(school=closed, date=D(2026, 3, day), reason="Flood")
    marks_until(closed, D(2026, 3, 6))
    marks_until(open_, D(2026, 3, 6))
    # Monday 16 March (yesterday a Sunday): Open missed 9 to 13 March = 5; Closed none.
    assert behind(D(2026, 3, 16)) == {"Closed": 0, "Open": 5}
    assert attendance_feeds_stale_tell(today=D(2026, 3, 16)) == 1  # Open only


def test_a_school_with_no_data_is_listed_but_not_counted_or_alerted(
    calendar: None, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Documented: only schools that have sent attendance are watched (a school whose
    feed has not started yet is shown as "None received", not as behind)."""
    school(estab="2001", name="Silent")
    assert behind(D(2026, 3, 16)) == {"Silent": None}
    make_user(Role.CME_OFFICER)
    assert attendance_feeds_stale_tell(today=D(2026, 3, 16)) == 0
    monkeypatch.setattr(timezone, "localdate", lambda: D(2026, 3, 16))
    client = Client()
    client.force_login(make_user(Role.CME_MANAGER))
    page = client.get("/alerts/feeds/").content.decode()
    assert "Silent" in page
    assert "None received" in page


def test_the_alert_is_raised_once_and_again_only_after_new_data(
    calendar: None, settings: Any, make_user: Any
) -> None:
    settings.CMETRACK_FEED_STALE_SCHOOL_DAYS = 3
    make_user(Role.CME_OFFICER)
    ash = school(estab="2001", name="Ash")
    marks_until(ash, D(2026, 3, 3))  # Tuesday
    # Mon 9th: Wed 4, Thu 5, Fri 6 = 3: not more than 3.
    assert attendance_feeds_stale_tell(today=D(2026, 3, 9)) == 0
    # Tue 10th: + Mon 9th = 4: told, once; not the next days.
    assert attendance_feeds_stale_tell(today=D(2026, 3, 10)) == 1
    for day in (10, 11, 12, 13, 16):
        assert attendance_feeds_stale_tell(today=D(2026, 3, day)) == 0
    # The feed starts again (marks to Fri 13th): nothing to say; no alert stays raised.
    marks_until(ash, D(2026, 3, 13))
    assert attendance_feeds_stale_tell(today=D(2026, 3, 17)) == 0
    assert not feed_freshness(today=D(2026, 3, 17))[0].behind(3)
    # It stops again: told again, for the new date.
    assert attendance_feeds_stale_tell(today=D(2026, 3, 20)) == 1  # 16, 17, 18, 19
    messages = Message.objects.filter(kind="feed_stale")
    assert sorted(m.personalisation["marker"] for m in messages) == ["2026-03-03", "2026-03-13"]


def test_a_setting_of_zero_is_kept(settings: Any) -> None:
    """0 (any school day behind) was read as "not set" and became 3."""
    settings.CMETRACK_FEED_STALE_SCHOOL_DAYS = 0
    settings.CMETRACK_NOTIFY_STALE_FEED_SCHOOL_DAYS = 0
    assert stale_school_days() == 0
    settings.CMETRACK_FEED_STALE_SCHOOL_DAYS = 5
    assert stale_school_days() == 5


def test_a_school_user_sees_only_its_own_school(
    calendar: None, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ash, beech = school(estab="2001", name="Ash Primary"), school(estab="2002", name="Beech")
    marks_until(ash, D(2026, 3, 3))
    marks_until(beech, D(2026, 3, 3))
    monkeypatch.setattr(timezone, "localdate", lambda: D(2026, 3, 16))
    client = Client()
    client.force_login(make_user(Role.SCHOOL_USER, organisation=beech))
    for url in ("/alerts/feeds/", "/alerts/feeds/?behind=1"):
        page = client.get(url).content.decode()
        assert "Beech" in page
        assert "Ash Primary" not in page
