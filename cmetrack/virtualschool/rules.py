"""The Virtual School's rules as pure functions (no Django, no database, no clock).

* A child in care is not taken off a school's roll until a new school has admitted them
  (domain README, "Case lifecycle"; the county procedure: "a CiC should not be off rolled
  by a school until a new school has admitted the CiC"): :func:`deletion_refusal`.
* A move of care placement without a school place raises a Virtual School alert (the
  procedure: the Virtual School is alerted "if a CiC has been moved to a new care placement
  without prior planning so that a new school place can be identified"):
  :func:`placement_school_gap`.
* Attendance this academic year at or below 95 % raises a Virtual School alert (detection's
  ``IN_CARE_ATTENDANCE`` rule; :func:`attendance_needs_alert` is the same threshold).
* The personal education plan of a child in care who is missing education (forms.md §6):
  its two standard targets, and when it is reviewed (:func:`pep_review_problem`,
  :func:`default_pep_review_date`, :func:`pep_status`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

# --- Deletion from roll -----------------------------------------------------------------

#: Deletion grounds after which no new school can admit the child, so the rule does not
#: apply: (k) died; (l) passes compulsory school age and will not continue.
NO_ADMISSION_POSSIBLE_GROUNDS = frozenset({"k", "l"})

CIC_RULE = "a child in care is not taken off a school's roll until a new school has admitted them"
NO_NEW_SCHOOL = (
    "This pupil is a child in care, and {rule}. Give the new school that has admitted "
    "the pupil and the date they started there, or keep the pupil on roll and contact "
    "the Virtual School."
)
NO_START_DATE = (
    "This pupil is a child in care, and {rule}. Give the date the new school admitted "
    "the pupil (their start date there)."
)
START_AFTER_DELETION = (
    "This pupil is a child in care, and {rule}. The new school admits the pupil on "
    "{start}, after the date of deletion ({deleted}): keep the pupil on roll until then."
)


def deletion_refusal(
    *,
    in_care: bool,
    ground: str,
    deleted_on: date | None,
    new_school_named: bool,
    new_school_start: date | None,
) -> str | None:
    """Why a deletion return must be refused under the children-in-care rule, or None.

    Refused when the pupil is in care, the ground leaves a child who needs a school (every
    ground but died or past compulsory school age), and no new school is named that has
    admitted the pupil on or before the date of deletion.
    """
    if not in_care or ground.strip().lower().strip("()") in NO_ADMISSION_POSSIBLE_GROUNDS:
        return None
    if not new_school_named:
        return NO_NEW_SCHOOL.format(rule=CIC_RULE)
    if new_school_start is None:
        return NO_START_DATE.format(rule=CIC_RULE)
    if deleted_on is not None and new_school_start > deleted_on:
        return START_AFTER_DELETION.format(
            rule=CIC_RULE, start=_day(new_school_start), deleted=_day(deleted_on)
        )
    return None


def _day(d: date) -> str:
    return f"{d.day} {d:%B %Y}"


# --- Placement moves --------------------------------------------------------------------


class SchoolGap(StrEnum):
    """Why a new placement has no school place."""

    NO_SCHOOL = "no_school"
    NOT_ON_ROLL = "not_on_roll"


def placement_school_gap(
    *, school_recorded: bool, admitted_on: date | None, on_roll: bool
) -> SchoolGap | None:
    """Whether a new placement leaves the child without a school place.

    ``school_recorded``: a school is named for the new placement; ``admitted_on``: the date
    the school confirmed it admitted the child, if it has; ``on_roll``: the child's UPN is on
    that school's roll (a roll snapshot or an addition return since the move).
    """
    if not school_recorded:
        return SchoolGap.NO_SCHOOL
    if admitted_on is None and not on_roll:
        return SchoolGap.NOT_ON_ROLL
    return None


# --- Attendance -------------------------------------------------------------------------

#: Attendance at or below this percentage this academic year raises the alert.
ATTENDANCE_ALERT_PERCENT = 95.0


def attendance_percent(attended: int, possible: int) -> float | None:
    """Sessions attended as a percentage of possible sessions; None when none were possible."""
    if possible <= 0:
        return None
    return 100.0 * attended / possible


def attendance_needs_alert(attended: int, possible: int) -> bool:
    """Attendance "falls to 95 % or below": 95.0 exactly raises the alert."""
    percent = attendance_percent(attended, possible)
    return percent is not None and percent <= ATTENDANCE_ALERT_PERCENT


# --- Personal education plan -------------------------------------------------------------


@dataclass(frozen=True)
class StandardTarget:
    area: str
    label: str
    actions: str
    intervention: str
    improvement: str


#: forms.md §6, section D: the two standard targets of the plan of a child in care who is
#: missing education.
STANDARD_TARGETS: tuple[StandardTarget, ...] = (
    StandardTarget(
        area="attendance",
        label="Attendance",
        actions=(
            "Arrange to meet the network of professionals responsible for the child. "
            "Discuss the current situation to identify the options available and find a "
            "solution. Draw up a plan of actions, choosing the most suitable option, and "
            "follow up with the child and any other services, for example admissions or "
            "the SEN officer."
        ),
        intervention="Inclusion",
        improvement="Attendance at school",
    ),
    StandardTarget(
        area="academic",
        label="Academic achievement",
        actions=(
            "Organise an assessment of short-term academic or training needs, then use "
            "pupil premium plus or other funding as appropriate. Secure educational "
            "support. Arrange a further PEP meeting with the social worker."
        ),
        intervention="One-to-one",
        improvement="Progress in the subjects agreed at the meeting",
    ),
)
TARGETS_BY_AREA = {t.area: t for t in STANDARD_TARGETS}

#: The plan is reviewed at least every term: the review is no later than this many days
#: after the meeting (13 weeks, one school term).
PEP_REVIEW_MAX_DAYS = 91
#: A review falling within this many days is shown as due.
PEP_DUE_SOON_DAYS = 14
#: A child in care with an open CME case and no plan: the plan is due this many days
#: after the case was referred (20 school days, about four weeks).
PEP_FIRST_DUE_DAYS = 28


def default_pep_review_date(meeting_on: date) -> date:
    """One calendar month after the meeting (clamped to the end of a shorter month):
    while a child in care is missing education the plan is reviewed monthly."""
    year, month0 = divmod(meeting_on.year * 12 + meeting_on.month, 12)
    day = min(meeting_on.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)


def pep_review_problem(meeting_on: date, review_on: date) -> str | None:
    """What is wrong with a review date, in the officer's words, or None."""
    if review_on <= meeting_on:
        return "The review date must be after the date of the PEP meeting"
    latest = meeting_on + timedelta(days=PEP_REVIEW_MAX_DAYS)
    if review_on > latest:
        return (
            "A PEP is reviewed at least every term: the review date must be no later than "
            f"{_day(latest)} (13 weeks after the meeting)"
        )
    return None


class PepStatus(StrEnum):
    NEEDED = "needed"
    NEEDED_OVERDUE = "needed_overdue"
    OVERDUE = "overdue"
    DUE = "due"
    SCHEDULED = "scheduled"


PEP_STATUS_TEXT = {
    PepStatus.NEEDED: "PEP needed",
    PepStatus.NEEDED_OVERDUE: "PEP needed: overdue",
    PepStatus.OVERDUE: "Review overdue",
    PepStatus.DUE: "Review due",
    PepStatus.SCHEDULED: "Review booked",
}


def pep_status(*, case_referred: date, review_on: date | None, today: date) -> PepStatus:
    """Where a child in care's plan stands for a CME episode.

    ``review_on`` is the next review date of the episode's latest plan (None: no plan yet).
    A review due today is due, not overdue; overdue starts the day after."""
    if review_on is None:
        first_due = case_referred + timedelta(days=PEP_FIRST_DUE_DAYS)
        return PepStatus.NEEDED_OVERDUE if today > first_due else PepStatus.NEEDED
    if today > review_on:
        return PepStatus.OVERDUE
    if review_on - today <= timedelta(days=PEP_DUE_SOON_DAYS):
        return PepStatus.DUE
    return PepStatus.SCHEDULED


def suitable_education_problem(answer: str, reasons: str) -> str | None:
    """forms.md §6: "receiving suitable education?" yes, no or not known, with reasons."""
    if answer in {"no", "not_known"} and not reasons.strip():
        return (
            "Give the reasons the child is not receiving suitable education, or why it is not known"
        )
    return None


def placement_dates_problem(
    *, previous_start: date | None, new_start: date, came_into_care: date, today: date
) -> str | None:
    """What is wrong with the start date of a new placement, or None."""
    if new_start > today:
        return "The date of the move must be today or in the past"
    if new_start < came_into_care:
        return "The date of the move must be on or after the date the child came into care"
    if previous_start is not None and new_start <= previous_start:
        return (
            "The date of the move must be after the start of the current placement "
            f"({_day(previous_start)})"
        )
    return None
