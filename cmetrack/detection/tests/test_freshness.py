"""Feed freshness (issue 18, item 4): the page, and the alert raised once, not daily."""

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
from cmetrack.registers.models import RollSnapshot

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 20)  # a Friday


@pytest.fixture
def schools() -> dict[str, Any]:
    TermFactory.create(term_start=dt.date(2026, 1, 5), term_end=dt.date(2026, 3, 27))
    found = {
        "behind": school(estab="2001", name="Ash Primary"),
        "edge": school(estab="2002", name="Beech Primary"),
        "silent": school(estab="2003", name="Cedar Primary"),
    }
    # Behind: last mark Monday 16th, so 17, 18, 19 March = 3 school days... plus 13th.
    AttendancePartition.objects.create(
        school=found["behind"], academic_year=2025, path="a", last_date=dt.date(2026, 3, 13)
    )
    # Exactly 3 school days behind (17, 18, 19): not more than 3, so not behind.
    AttendancePartition.objects.create(
        school=found["edge"], academic_year=2025, path="b", last_date=dt.date(2026, 3, 16)
    )
    RollSnapshot.objects.create(school=found["silent"], taken_on=dt.date(2026, 1, 8))
    return found


def test_default_is_three_school_days(settings: Any) -> None:
    del settings.CMETRACK_FEED_STALE_SCHOOL_DAYS
    del settings.CMETRACK_NOTIFY_STALE_FEED_SCHOOL_DAYS
    assert stale_school_days() == 3


def test_freshness_rows(schools: dict[str, Any], settings: Any) -> None:
    settings.CMETRACK_FEED_STALE_SCHOOL_DAYS = 3
    rows = {r.school.laestab: r for r in feed_freshness(today=TODAY)}
    behind, edge, silent = rows["9992001"], rows["9992002"], rows["9992003"]
    assert (behind.attendance_school_days_behind, behind.behind(3)) == (4, True)
    assert (edge.attendance_school_days_behind, edge.behind(3)) == (3, False)
    assert (silent.attendance, silent.rolls) == (None, dt.date(2026, 1, 8))


def test_the_team_is_told_once_per_school_and_date(
    schools: dict[str, Any], settings: Any, make_user: Any
) -> None:
    settings.CMETRACK_FEED_STALE_SCHOOL_DAYS = 3
    make_user(Role.CME_OFFICER)
    assert attendance_feeds_stale_tell(today=TODAY) == 1
    assert attendance_feeds_stale_tell(today=TODAY) == 0  # the next run: not again
    # Monday: the edge school is now 4 school days behind; Ash is not told of again.
    assert attendance_feeds_stale_tell(today=dt.date(2026, 3, 23)) == 1
    assert attendance_feeds_stale_tell(today=dt.date(2026, 3, 24)) == 0
    assert Message.objects.filter(kind="feed_stale").count() == 2
    # New marks arrive at Ash, then stop again: a new alert for the new date.
    AttendancePartition.objects.filter(school=schools["behind"]).update(
        last_date=dt.date(2026, 3, 19)
    )
    assert attendance_feeds_stale_tell(today=dt.date(2026, 3, 24)) == 0  # 2 days behind
    assert attendance_feeds_stale_tell(today=dt.date(2026, 3, 27)) == 1


def test_the_page_lists_schools_and_marks_those_behind(
    schools: dict[str, Any], settings: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CMETRACK_FEED_STALE_SCHOOL_DAYS = 3
    monkeypatch.setattr(timezone, "localdate", lambda: TODAY)
    client = Client()
    client.force_login(make_user(Role.CME_OFFICER))
    page = client.get("/alerts/feeds/").content.decode()
    assert "Ash Primary" in page
    assert "Cedar Primary" in page
    assert "1 school is more than 3 school days behind" in page
    only = client.get("/alerts/feeds/?behind=1").content.decode()
    assert "Ash Primary" in only
    assert "Beech Primary" not in only
    school_user = make_user(Role.SCHOOL_USER, organisation=schools["edge"])
    client.force_login(school_user)
    own = client.get("/alerts/feeds/").content.decode()
    assert "Beech Primary" in own
    assert "Ash Primary" not in own
    client.force_login(make_user(Role.AGENCY_USER))
    assert client.get("/alerts/feeds/").status_code == 403
