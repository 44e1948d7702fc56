"""Exact domain rules for cmetrack, as pure functions (see docs: rules.md sections 1-4, 6).

Each rule is implemented once, here, with table-driven tests, and used everywhere:

* :mod:`~cmetrack.rules.school_age` - compulsory school age, national curriculum year;
* :mod:`~cmetrack.rules.upn` - Unique Pupil Number check letters and validation;
* :mod:`~cmetrack.rules.attendance` - attendance codes (from August 2024) and runs of
  unexplained absence;
* :mod:`~cmetrack.rules.reviews` - dormant case review dates.

Nothing in this package imports Django or reads the clock.
"""

from cmetrack.rules.attendance import (
    ATTENDANCE_CODES,
    CME_REFERRAL_SCHOOL_DAYS,
    DELETION_GROUND_H_SCHOOL_DAYS,
    DELETION_GROUND_I_SCHOOL_DAYS,
    ILLNESS_RETURN_SCHOOL_DAYS,
    NEUTRAL_FOR_RUNS_CODES,
    SESSIONS_PER_SCHOOL_DAY,
    UNEXPLAINED_ABSENCE_CODES,
    WITHDRAWN_CODES,
    AbsenceRun,
    AttendanceCategory,
    AttendanceCode,
    AttendanceCodeError,
    Half,
    SessionRef,
    UnknownAttendanceCode,
    WithdrawnAttendanceCode,
    WithdrawnCode,
    attendance_code,
    breaks_run,
    is_neutral_for_runs,
    is_unexplained_absence,
    runs_at_least,
    unexplained_absence_runs,
)
from cmetrack.rules.reviews import is_review_overdue, next_dormant_review
from cmetrack.rules.school_age import (
    PRESCRIBED_DAYS,
    academic_year_start_for,
    compulsory_school_age,
    is_of_compulsory_school_age,
    is_prescribed_day,
    national_curriculum_year,
    school_leaving_date,
)
from cmetrack.rules.upn import (
    CHECK_LETTERS,
    UPN_LENGTH,
    InvalidUPN,
    is_temporary_upn,
    is_valid_upn,
    normalise_upn,
    upn_check_letter,
    validate_upn,
)

__all__ = [
    "ATTENDANCE_CODES",
    "CHECK_LETTERS",
    "CME_REFERRAL_SCHOOL_DAYS",
    "DELETION_GROUND_H_SCHOOL_DAYS",
    "DELETION_GROUND_I_SCHOOL_DAYS",
    "ILLNESS_RETURN_SCHOOL_DAYS",
    "NEUTRAL_FOR_RUNS_CODES",
    "PRESCRIBED_DAYS",
    "SESSIONS_PER_SCHOOL_DAY",
    "UNEXPLAINED_ABSENCE_CODES",
    "UPN_LENGTH",
    "WITHDRAWN_CODES",
    "AbsenceRun",
    "AttendanceCategory",
    "AttendanceCode",
    "AttendanceCodeError",
    "Half",
    "InvalidUPN",
    "SessionRef",
    "UnknownAttendanceCode",
    "WithdrawnAttendanceCode",
    "WithdrawnCode",
    "academic_year_start_for",
    "attendance_code",
    "breaks_run",
    "compulsory_school_age",
    "is_neutral_for_runs",
    "is_of_compulsory_school_age",
    "is_prescribed_day",
    "is_review_overdue",
    "is_temporary_upn",
    "is_unexplained_absence",
    "is_valid_upn",
    "national_curriculum_year",
    "next_dormant_review",
    "normalise_upn",
    "runs_at_least",
    "school_leaving_date",
    "unexplained_absence_runs",
    "upn_check_letter",
    "validate_upn",
]
