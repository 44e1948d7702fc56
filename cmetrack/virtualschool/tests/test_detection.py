"""Detection sees a child in care by the UPN on their in-care record: attendance this
academic year at 95 % or below raises the Virtual School's alert, which the dashboard's
queue shows; 95.1 % and a child not in care do not."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.detection.models import Alert, AlertRule
from cmetrack.detection.services import DetectionConfig, detection_run
from cmetrack.detection.tests.factories import TermFactory, school, write_csv
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.schoolcalendar.calendar import school_days_between
from cmetrack.virtualschool.selectors import in_care_attendance_alerts

from .factories import SYSTEM, record, upn, user

pytestmark = pytest.mark.django_db
TERM = (date(2025, 9, 3), date(2025, 12, 19))
AS_OF = date(2025, 12, 1)


def marks(pupil: str, codes: list[str]) -> list[list[Any]]:
    days = school_days_between([TERM], [], TERM[0], TERM[1])
    sessions = [(d, h) for d in days for h in ("AM", "PM")]
    return [
        ["9992001", pupil, d.isoformat(), h, c] for (d, h), c in zip(sessions, codes, strict=False)
    ]


def test_in_care_attendance_alerts_reach_the_virtual_school(tmp_path: Path) -> None:
    school(estab="2001")
    TermFactory.create(term_start=TERM[0], term_end=TERM[1])
    at_95 = record(upn_serial=1)  # 38 of 40: exactly 95 %
    above = record(upn_serial=2)  # 20 of 21: 95.2 %
    not_in_care = ChildFactory.create(upn=upn(3))
    rows = (
        marks(upn(1), ["/"] * 38 + ["O"] * 2)
        + marks(upn(2), ["/"] * 20 + ["O"])  # 95.2 %
        + marks(upn(3), ["/"] * 10 + ["O"] * 10)
    )
    data = tmp_path / "data"
    data.mkdir()
    write_csv(data / "marks.csv", ["laestab", "upn", "date", "session", "code"], rows)
    detection_run(actor=SYSTEM, config=DetectionConfig(as_of=AS_OF, data_dir=data))
    found = Alert.objects.filter(rule=AlertRule.IN_CARE_ATTENDANCE)
    assert [a.upn for a in found] == [at_95.child.upn]
    alert = found.get()
    assert alert.evidence["attendance_percent"] == 95.0
    assert alert.child == at_95.child
    vs = user(Role.VIRTUAL_SCHOOL)
    assert list(in_care_attendance_alerts(vs)) == [alert]
    assert list(in_care_attendance_alerts(user(Role.SCHOOL_USER))) == []
    assert above.child.upn
    assert not_in_care.upn
