"""Deletion from a school roll on grounds (h) and (i) (rules.md sections 4 and 5).

Both grounds need the local authority's involvement: the school and the authority must
each have made reasonable enquiries, jointly, and failed to find the child. Ground (h) also
needs the pupil not to have returned within 10 school days after the end of authorised
leave; ground (i), 20 school days of continuous unauthorised absence (the run is counted
from attendance: :mod:`cmetrack.rules.attendance`).
"""

from __future__ import annotations

from datetime import date

from .attendance import DELETION_GROUND_H_SCHOOL_DAYS

__all__ = ["JOINT_ENQUIRY_GROUNDS", "ground_h_problem", "joint_enquiries_problem"]

#: Grounds that need the record of failed joint school and authority enquiries.
JOINT_ENQUIRY_GROUNDS = frozenset({"h", "i"})


def joint_enquiries_problem(ground: str, school_enquiries: str, la_enquiries: str) -> str | None:
    """Why a deletion on ``ground`` cannot be accepted without its enquiries, or None."""
    if ground not in JOINT_ENQUIRY_GROUNDS:
        return None
    missing = [
        who
        for who, text in (("the school's", school_enquiries), ("the authority's", la_enquiries))
        if not text.strip()
    ]
    if not missing:
        return None
    return (
        f"a deletion on ground ({ground}) needs the record of the reasonable joint enquiries "
        f"that failed to find the child: give {' and '.join(missing)} enquiries "
        "(school_enquiries, la_enquiries)"
    )


def ground_h_problem(
    leave_ended_on: date | None, deleted_on: date, school_days_after_leave: list[date]
) -> str | None:
    """Ground (h): deleted only once the pupil has not returned for 10 school days after
    the end of authorised leave. ``school_days_after_leave`` are the school's days from the
    day after ``leave_ended_on`` up to and including ``deleted_on``."""
    if leave_ended_on is None:
        return (
            "a deletion on ground (h) needs the last day of the authorised leave (leave_ended_on)"
        )
    if leave_ended_on >= deleted_on:
        return "the last day of the authorised leave must be before the date of deletion"
    waited = sum(1 for d in school_days_after_leave if leave_ended_on < d <= deleted_on)
    if waited < DELETION_GROUND_H_SCHOOL_DAYS:
        return (
            f"ground (h) is met only after {DELETION_GROUND_H_SCHOOL_DAYS} school days without "
            f"return after the leave ended; {waited} school day"
            f"{'s' if waited != 1 else ''} had passed by the date of deletion"
        )
    return None
