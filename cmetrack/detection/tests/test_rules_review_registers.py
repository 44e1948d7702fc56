"""Adversarial review of the register rules (issue 18) against rules.md: boundary cases a CME
officer's data hits. Each expected answer was worked out by hand from rules.md section 5 and
the issue's rule list, not by running the code.

Pupil 9 fills rolls that must not be empty (a roll is known by its entries).

Calendar used throughout: autumn term 2025 from Wednesday 3 September to Friday 19
December; spring term 2026 from Monday 5 January to Friday 27 March; no closure days.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cmetrack.detection.models import AdditionReturn, AdmissionAllocation, DeletionReturn
from cmetrack.detection.services import DetectionConfig, detection_find
from cmetrack.registers.models import RollEntry, RollSnapshot

from .factories import TermFactory, make_upn, school, write_csv

pytestmark = pytest.mark.django_db

A, B, C = "9993001", "9993002", "9993003"
U = {n: make_upn(n, estab="3000") for n in range(1, 10)}
COMMON = {"legal_given_name": "Kim", "legal_family_name": "Example", "dob": date(2014, 2, 2)}


@pytest.fixture
def schools(tmp_path: Path) -> dict[str, Any]:
    TermFactory.create(term_start=date(2025, 9, 3), term_end=date(2025, 12, 19))
    TermFactory.create(term_start=date(2026, 1, 5), term_end=date(2026, 3, 27), name="Spring")
    found = {
        A: school(code="999", estab="3001"),
        B: school(code="999", estab="3002"),
        C: school(code="999", estab="3003"),
    }
    # One present mark, so that the data folder holds marks (the rules here read registers).
    write_csv(
        tmp_path / "marks.csv",
        ["laestab", "upn", "date", "session", "code"],
        [[C, U[9], "2025-09-03", "AM", "/"]],
    )
    return found


def roll(org: Any, taken_on: date, upns: list[int], nc_year: int = 8) -> None:
    snapshot = RollSnapshot.objects.create(
        school=org, taken_on=taken_on, content_hash=f"{org.pk}-{taken_on}"
    )
    for n in upns:
        RollEntry.objects.create(
            snapshot=snapshot,
            upn=U[n],
            legal_given_name=f"Pupil{n}",
            legal_family_name="Example",
            dob=date(2014, 1, n),
            sex="F",
            nc_year=nc_year,
        )


def found(tmp_path: Path, as_of: date) -> set[tuple[str, str]]:
    report = detection_find(DetectionConfig(as_of=as_of, data_dir=tmp_path))
    return {(str(f.rule), f.upn) for f in report.findings}


# --- Leaver with no destination (rules.md section 5: visible until registered elsewhere) ---


def test_a_child_gone_from_a_roll_but_on_another_schools_roll_taken_in_between(
    schools: dict[str, Any], tmp_path: Path
) -> None:
    """A's roll of 1 October has pupils 1 and 2, its roll of 12 January neither. B's roll of
    1 December lists pupil 1: registered elsewhere after last seen at A, so not missing
    (B's roll is older than A's later roll, but younger than the last sight of the child).
    Pupil 2 is on no roll since: the leaver alert is due 10 school days after 12 January
    (26 January), so it stands on 2 February."""
    roll(schools[A], date(2025, 10, 1), [1, 2])
    roll(schools[A], date(2026, 1, 12), [9])
    roll(schools[B], date(2025, 12, 1), [1])
    leavers = {u for r, u in found(tmp_path, date(2026, 2, 2)) if r == "leaver_no_destination"}
    assert leavers == {U[2]}


def test_a_child_gone_from_a_roll_whose_addition_return_came_before_that_roll(
    schools: dict[str, Any], tmp_path: Path
) -> None:
    """B's addition return says pupil 3 joined on 10 November, after A's roll of 1 October
    that listed the child and before A's next roll (12 January) that does not: registered
    elsewhere, not a leaver with no destination."""
    roll(schools[A], date(2025, 10, 1), [3])
    roll(schools[A], date(2026, 1, 12), [9])
    AdditionReturn.objects.create(
        school=schools[B], upn=U[3], joined_on=date(2025, 11, 10), **COMMON
    )
    assert ("leaver_no_destination", U[3]) not in found(tmp_path, date(2026, 2, 2))


def test_a_child_on_another_roll_before_last_seen_is_still_a_leaver(
    schools: dict[str, Any], tmp_path: Path
) -> None:
    """B's roll of 15 September (before A last listed the child, 1 October) proves nothing
    about where the child went after A: still a leaver with no destination."""
    roll(schools[B], date(2025, 9, 15), [4])
    roll(schools[A], date(2025, 10, 1), [4])
    roll(schools[A], date(2026, 1, 12), [9])
    roll(schools[B], date(2026, 1, 13), [9])
    assert ("leaver_no_destination", U[4]) in found(tmp_path, date(2026, 2, 2))


def test_the_leaver_alert_after_a_deletion_dated_on_a_saturday(
    schools: dict[str, Any], tmp_path: Path
) -> None:
    """Deleted on Saturday 8 November 2025, no destination. School days after it: Monday 10
    November is the 1st, Friday 21 November the 10th. Not due on Thursday 20 November; due
    on Friday 21 November."""
    DeletionReturn.objects.create(
        school=schools[A], upn=U[5], ground="g", deleted_on=date(2025, 11, 8), **COMMON
    )
    assert ("leaver_no_destination", U[5]) not in found(tmp_path, date(2025, 11, 20))
    assert ("leaver_no_destination", U[5]) in found(tmp_path, date(2025, 11, 21))


# --- Allocation not taken up (issue 18 (e)) ------------------------------------------------


def test_an_allocation_not_raised_for_a_child_on_another_schools_roll(
    schools: dict[str, Any], tmp_path: Path
) -> None:
    """Allocated to B from Monday 5 January 2026; on C's roll of 7 January: not raised.
    Pupil 7, allocated the same, is on no roll: raised once 10 school days have passed
    (5 January is the 1st, Friday 16 January the 10th)."""
    for n in (6, 7):
        AdmissionAllocation.objects.create(
            school=schools[B], upn=U[n], expected_start=date(2026, 1, 5), **COMMON
        )
    roll(schools[C], date(2026, 1, 7), [6])
    assert ("allocation_not_taken", U[7]) not in found(tmp_path, date(2026, 1, 15))
    seen = found(tmp_path, date(2026, 1, 16))
    assert ("allocation_not_taken", U[7]) in seen
    assert ("allocation_not_taken", U[6]) not in seen


# --- Year 6 to 7 (issue 18 (d)) --------------------------------------------------------------


def test_an_authority_date_in_the_new_calendar_year_is_after_the_autumn(
    schools: dict[str, Any], tmp_path: Path, settings: Any
) -> None:
    """The authority sets 15 January ("01-15"): for the Year 6 of summer 2025 that is 15
    January 2026, the first 15 January after the start of Year 7 (1 September 2025). No
    destination is known, so nothing is raised before it: not in October 2025, and raised
    on 15 January 2026."""
    settings.DETECTION_Y6_Y7_DATE = "01-15"
    roll(schools[A], date(2025, 7, 1), [8], nc_year=6)
    assert ("y6_y7_transfer", U[8]) not in found(tmp_path, date(2025, 10, 6))
    assert ("y6_y7_transfer", U[8]) not in found(tmp_path, date(2026, 1, 14))
    assert ("y6_y7_transfer", U[8]) in found(tmp_path, date(2026, 1, 15))


def test_an_authority_date_of_29_february_in_a_common_year(
    schools: dict[str, Any], tmp_path: Path, settings: Any
) -> None:
    """ "02-29" for the Year 6 of summer 2025: 2026 has no 29 February; as with a 29
    February birthday (rules.md section 1) it counts as 1 March 2026. The detection must
    not fail, and raises nothing on 28 February, the alert on 1 March (a Sunday: a date
    passes on any day)."""
    settings.DETECTION_Y6_Y7_DATE = "02-29"
    roll(schools[A], date(2025, 7, 1), [8], nc_year=6)
    assert ("y6_y7_transfer", U[8]) not in found(tmp_path, date(2026, 2, 28))
    assert ("y6_y7_transfer", U[8]) in found(tmp_path, date(2026, 3, 1))


def test_an_authority_date_on_a_weekend(
    schools: dict[str, Any], tmp_path: Path, settings: Any
) -> None:
    """ "10-04" is Saturday 4 October 2025: the alert stands from that day, not from the next
    school day (a date the authority sets, not a count of school days)."""
    settings.DETECTION_Y6_Y7_DATE = "10-04"
    roll(schools[A], date(2025, 7, 1), [8], nc_year=6)
    assert ("y6_y7_transfer", U[8]) not in found(tmp_path, date(2025, 10, 3))
    assert ("y6_y7_transfer", U[8]) in found(tmp_path, date(2025, 10, 4))


# --- An addition return and the school's later roll -------------------------------------------


def test_a_named_destinations_roll_lacking_the_child_outweighs_its_earlier_addition(
    schools: dict[str, Any], tmp_path: Path
) -> None:
    """A deleted pupils 1 and 2 on Monday 6 October 2025, ground (a), to B from 7 October.
    B's addition returns: pupil 1 joined on 7 October, pupil 2 on 12 November. B's next roll,
    10 November, has neither. Pupil 1: B's roll after the addition says the child is not
    there, so the named school's next roll lacks the child: raised (issue 18 (f)). Pupil 2
    joined after that roll was taken: the addition stands, not raised."""
    for n, joined in ((1, date(2025, 10, 7)), (2, date(2025, 11, 12))):
        DeletionReturn.objects.create(
            school=schools[A],
            upn=U[n],
            ground="a",
            deleted_on=date(2025, 10, 6),
            destination_school=schools[B],
            destination_start=date(2025, 10, 7),
            **COMMON,
        )
        AdditionReturn.objects.create(school=schools[B], upn=U[n], joined_on=joined, **COMMON)
    roll(schools[B], date(2025, 11, 10), [9])
    seen = found(tmp_path, date(2025, 12, 1))
    assert ("destination_not_on_roll", U[1]) in seen
    assert ("destination_not_on_roll", U[2]) not in seen


def test_a_year_6_child_added_by_a_secondary_whose_autumn_roll_lacks_them(
    schools: dict[str, Any], tmp_path: Path, settings: Any
) -> None:
    """Year 6 at A in July 2025. Pupil 3: B's addition return says joined 3 September; B's
    roll of 1 October lacks the child: on no Year 7 roll, raised from the authority's date
    (1 October by default). Pupil 4: C added the child on 3 September and C has sent no
    roll since: the addition stands, not raised."""
    settings.DETECTION_Y6_Y7_DATE = ""
    roll(schools[A], date(2025, 7, 1), [3, 4], nc_year=6)
    AdditionReturn.objects.create(school=schools[B], upn=U[3], joined_on=date(2025, 9, 3), **COMMON)
    AdditionReturn.objects.create(school=schools[C], upn=U[4], joined_on=date(2025, 9, 3), **COMMON)
    roll(schools[B], date(2025, 10, 1), [9], nc_year=7)
    seen = found(tmp_path, date(2025, 10, 6))
    assert ("y6_y7_transfer", U[3]) in seen
    assert ("y6_y7_transfer", U[4]) not in seen


def test_a_leaver_added_by_a_school_whose_next_roll_lacks_them(
    schools: dict[str, Any], tmp_path: Path
) -> None:
    """Pupil 5 is on A's roll of 1 October, not on A's roll of 12 January. B's addition
    return says joined 10 November, but B's roll of 1 December lacks the child: not
    registered anywhere the authority can see, so still a leaver with no destination
    (due 10 school days after 12 January: 26 January)."""
    roll(schools[A], date(2025, 10, 1), [5])
    roll(schools[A], date(2026, 1, 12), [9])
    AdditionReturn.objects.create(
        school=schools[B], upn=U[5], joined_on=date(2025, 11, 10), **COMMON
    )
    roll(schools[B], date(2025, 12, 1), [9])
    assert ("leaver_no_destination", U[5]) not in found(tmp_path, date(2026, 1, 23))
    assert ("leaver_no_destination", U[5]) in found(tmp_path, date(2026, 1, 26))


# --- Open case: child found on a roll ----------------------------------------------------------


def test_found_on_a_roll_only_for_a_case_whose_child_is_not_yet_found(
    schools: dict[str, Any], tmp_path: Path
) -> None:
    """Cases referred on 1 October 2025; B's roll of 10 November lists pupils 6, 7 and 8.
    Pupil 6's case is tracking (not found): the roll locates the child, suggested. Pupil 7's
    is already located and pupil 8's in provision (the child is on a roll by definition):
    nothing to suggest (the matching engine's path looks at not-found cases only, too)."""
    from cmetrack.cases.lifecycle import CaseState
    from cmetrack.cases.tests.factories import CaseFactory
    from cmetrack.people.tests.factories import ChildFactory

    for n, state in (
        (6, CaseState.TRACKING),
        (7, CaseState.LOCATED),
        (8, CaseState.IN_PROVISION),
    ):
        CaseFactory.create(
            child=ChildFactory.create(upn=U[n]), date_referred=date(2025, 10, 1), state=state
        )
    roll(schools[B], date(2025, 11, 10), [6, 7, 8])
    suggested = {u for r, u in found(tmp_path, date(2025, 12, 1)) if r == "suggest_located"}
    assert suggested == {U[6]}


def test_an_old_addition_return_from_the_allocated_school_does_not_take_up_the_place(
    schools: dict[str, Any], tmp_path: Path
) -> None:
    """Pupils 1 and 2 are allocated to B from Monday 5 January 2026. Pupil 1 was added to B's
    roll on 4 September 2024 and is not on B's roll of 1 October 2025 (left since): that
    addition is not this place taken up, raised on Friday 16 January (the 10th school day
    from 5 January). Pupil 2's addition says joined 5 January 2026, no roll of B since:
    the place was taken up, not raised."""
    for n in (1, 2):
        AdmissionAllocation.objects.create(
            school=schools[B], upn=U[n], expected_start=date(2026, 1, 5), **COMMON
        )
    AdditionReturn.objects.create(school=schools[B], upn=U[1], joined_on=date(2024, 9, 4), **COMMON)
    AdditionReturn.objects.create(school=schools[B], upn=U[2], joined_on=date(2026, 1, 5), **COMMON)
    roll(schools[B], date(2025, 10, 1), [9])
    seen = found(tmp_path, date(2026, 1, 16))
    assert ("allocation_not_taken", U[1]) in seen
    assert ("allocation_not_taken", U[2]) not in seen
