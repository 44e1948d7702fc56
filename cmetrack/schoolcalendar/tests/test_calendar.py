"""The school calendar: school days, and the term and closure imports."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from cmetrack.audit.services import Actor
from cmetrack.detection.importers import closures_import, terms_import
from cmetrack.detection.models import ImportStatus
from cmetrack.detection.tests.factories import ClosureDayFactory, TermFactory, school, write_csv
from cmetrack.schoolcalendar.calendar import add_school_days, school_days_between
from cmetrack.schoolcalendar.models import ClosureDay, Term
from cmetrack.schoolcalendar.selectors import closure_rows, school_days

SYSTEM = Actor.system("test")


def test_school_days_between_leaves_out_weekends_holidays_and_closures() -> None:
    terms = [(date(2025, 9, 3), date(2025, 9, 12)), (date(2025, 9, 22), date(2025, 9, 23))]
    days = school_days_between(terms, {date(2025, 9, 5)}, date(2025, 9, 1), date(2025, 9, 30))
    assert days == [
        date(2025, 9, 3),
        date(2025, 9, 4),
        # 5th closed, 6-7 weekend
        date(2025, 9, 8),
        date(2025, 9, 9),
        date(2025, 9, 10),
        date(2025, 9, 11),
        date(2025, 9, 12),
        # 15-19 between terms
        date(2025, 9, 22),
        date(2025, 9, 23),
    ]


@pytest.mark.parametrize(
    ("after", "count", "expected"),
    [
        (date(2025, 9, 2), 1, date(2025, 9, 3)),
        (date(2025, 9, 3), 2, date(2025, 9, 5)),
        (date(2025, 9, 5), 1, date(2025, 9, 8)),
        (date(2025, 9, 12), 1, None),
    ],
)
def test_add_school_days(after: date, count: int, expected: date | None) -> None:
    days = school_days_between(
        [(date(2025, 9, 3), date(2025, 9, 12))], [], date(2025, 9, 1), date(2025, 9, 30)
    )
    assert add_school_days(days, after, count) == expected


@pytest.mark.django_db
def test_school_days_for_a_school_include_la_wide_and_own_closures_only() -> None:
    ours, other = school(estab="2001"), school(estab="2002")
    TermFactory.create(term_start=date(2025, 9, 1), term_end=date(2025, 9, 12))
    ClosureDayFactory.create(school=None, date=date(2025, 9, 1), reason="INSET (all)")
    ClosureDayFactory.create(school=ours, date=date(2025, 9, 2), reason="INSET")
    ClosureDayFactory.create(school=other, date=date(2025, 9, 3), reason="Polling station")
    days = school_days(ours, date(2025, 8, 25), date(2025, 9, 30))
    assert days[0] == date(2025, 9, 3)
    assert date(2025, 9, 2) not in days
    assert len(days) == 8  # 10 weekdays less two closures
    assert school_days(None, date(2025, 9, 1), date(2025, 9, 5)) == [
        date(2025, 9, 1) + timedelta(days=n) for n in range(1, 5)
    ]


@pytest.mark.django_db
def test_terms_import_is_idempotent_and_logged(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "terms.csv",
        ["term_start", "term_end"],
        [["2025-09-03", "2025-10-24"], ["03/11/2025", "19/12/2025"]],
    )
    first = terms_import(actor=SYSTEM, path=path, file_name="terms.csv")
    assert first.status == ImportStatus.SUCCEEDED
    assert (first.rows, first.created) == (2, 2)
    second = terms_import(actor=SYSTEM, path=path, file_name="terms.csv")
    assert second.status == ImportStatus.UNCHANGED
    assert second.created == 0
    assert Term.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rows", "line", "column", "message"),
    [
        ([["2025-09-03", "2025-13-01"]], 2, "term_end", "is not a real date"),
        ([["2025-09-03", "2025-09-01"]], 2, "term_end", "before the first day"),
        ([["", "2025-09-01"]], 2, "term_start", "enter a date"),
        (
            [["2025-09-03", "2025-10-24"], ["2025-10-20", "2025-12-19"]],
            3,
            "term_start",
            "overlaps",
        ),
    ],
)
def test_terms_import_errors_name_line_and_column(
    tmp_path: Path, rows: list[list[str]], line: int, column: str, message: str
) -> None:
    path = write_csv(tmp_path / "t.csv", ["term_start", "term_end"], rows)
    run = terms_import(actor=SYSTEM, path=path, file_name="t.csv")
    assert run.status == ImportStatus.FAILED
    assert any(
        e["line"] == line and e["column"] == column and message in e["message"] for e in run.errors
    ), run.errors
    assert Term.objects.count() == 0


@pytest.mark.django_db
def test_terms_import_refuses_a_file_without_the_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ["start", "end"], [["2025-09-03", "2025-10-24"]])
    run = terms_import(actor=SYSTEM, path=path, file_name="t.csv")
    assert run.status == ImportStatus.FAILED
    assert run.errors[0]["line"] == 1
    assert "missing the columns term_start, term_end" in run.errors[0]["message"]


@pytest.mark.django_db
def test_closures_import_la_wide_and_per_school(tmp_path: Path) -> None:
    ours = school(estab="2001")
    path = write_csv(
        tmp_path / "c.csv",
        ["laestab", "date", "reason"],
        [["", "2025-12-22", "Bank holiday"], ["9992001", "2025-09-02", "INSET day"]],
    )
    run = closures_import(actor=SYSTEM, path=path, file_name="c.csv")
    assert run.status == ImportStatus.SUCCEEDED, run.errors
    assert ClosureDay.objects.get(school__isnull=True).reason == "Bank holiday"
    assert ClosureDay.objects.get(school=ours).date == date(2025, 9, 2)
    again = closures_import(actor=SYSTEM, path=path, file_name="c.csv")
    assert again.status == ImportStatus.UNCHANGED
    assert ClosureDay.objects.count() == 2


@pytest.mark.django_db
def test_closures_import_is_all_or_nothing(tmp_path: Path) -> None:
    school(estab="2001")
    path = write_csv(
        tmp_path / "c.csv",
        ["laestab", "date", "reason"],
        [["9992001", "2025-09-02", "INSET day"], ["1234567", "2025-09-03", "INSET day"]],
    )
    run = closures_import(actor=SYSTEM, path=path, file_name="c.csv")
    assert run.status == ImportStatus.FAILED
    assert run.errors == [
        {
            "line": 3,
            "column": "laestab",
            "message": "1234567 is not the LAESTAB of a school we know",
        }
    ]
    assert ClosureDay.objects.count() == 0


@pytest.mark.django_db
def test_closure_rows_give_each_closure_with_its_school_code_or_none() -> None:
    first = school(estab="2001")
    second = school(estab="2002")
    ClosureDayFactory.create(date=date(2025, 9, 1))  # the whole authority
    ClosureDayFactory.create(school=first, date=date(2025, 9, 2))
    ClosureDayFactory.create(school=first, date=date(2025, 9, 3))
    ClosureDayFactory.create(school=second, date=date(2025, 9, 3))
    no_code = school(estab="")  # a school without its establishment number yet
    ClosureDayFactory.create(school=no_code, date=date(2025, 9, 4))

    assert sorted(closure_rows()) == [
        ("", date(2025, 9, 1)),
        ("", date(2025, 9, 4)),
        ("9992001", date(2025, 9, 2)),
        ("9992001", date(2025, 9, 3)),
        ("9992002", date(2025, 9, 3)),
    ]
