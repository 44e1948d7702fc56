"""Attendance codes and runs of unexplained absence (rules.md sections 3 and 4).

The code table is the one in force in England from August 2024 (School Attendance
(Pupil Registration) (England) Regulations 2024 and the DfE guidance "Working together
to improve school attendance").  Codes withdrawn before or at that change (F, H, J, Y)
are known and rejected with a message naming their replacement, so that importers can
tell a school exactly what to fix.

Code look-ups strip surrounding whitespace and upper-case the code (no current code
contains a lower-case letter), so ``" n "`` is ``N`` and ``"j1"`` is ``J1``.

Run counting (:func:`unexplained_absence_runs`) works on one pupil's school sessions at
one school, in order, and implements section 4 exactly:

* a *run* is a sequence of school sessions coded ``G``, ``N`` or ``O`` (unexplained
  absence for CME purposes; ``U`` is not, as the child was seen);
* ``#``, ``Z`` and ``X`` are neutral: they neither break nor extend a run;
* a session with no mark (``None``) is a *data gap*: neutral, but counted with the run;
* every other code breaks the run;
* non-school days are not sessions at all: the caller leaves them out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Final, Literal, TypeAlias

__all__ = [
    "ATTENDANCE_CODES",
    "CME_REFERRAL_SCHOOL_DAYS",
    "DELETION_GROUND_H_SCHOOL_DAYS",
    "DELETION_GROUND_I_SCHOOL_DAYS",
    "ILLNESS_RETURN_SCHOOL_DAYS",
    "NEUTRAL_FOR_RUNS_CODES",
    "SESSIONS_PER_SCHOOL_DAY",
    "UNEXPLAINED_ABSENCE_CODES",
    "WITHDRAWN_CODES",
    "AbsenceRun",
    "AttendanceCategory",
    "AttendanceCode",
    "AttendanceCodeError",
    "Half",
    "SessionRef",
    "UnknownAttendanceCode",
    "WithdrawnAttendanceCode",
    "WithdrawnCode",
    "attendance_code",
    "breaks_run",
    "is_neutral_for_runs",
    "is_unexplained_absence",
    "runs_at_least",
    "unexplained_absence_runs",
]


class AttendanceCategory(StrEnum):
    """The category an attendance code belongs to (rules.md section 3)."""

    PRESENT = "present"
    """Present: ``/``, ``\\``, ``L``."""
    APPROVED_ACTIVITY = "approved_activity"
    """Attending an approved educational activity (counts as attending)."""
    AUTHORISED_LEAVE = "authorised_leave"
    """Authorised absence: leave of absence granted (including ``X``)."""
    AUTHORISED_OTHER = "authorised_other"
    """Authorised absence for other reasons (Traveller, religious, illness, exclusion)."""
    UNABLE_TO_ATTEND = "unable_to_attend"
    """Unable to attend: not counted as absence."""
    UNAUTHORISED = "unauthorised"
    """Unauthorised absence (``G``, ``N``, ``O``, ``U``)."""
    NOT_COUNTED = "not_counted"
    """Not counted in possible sessions (``D``, ``Z``, ``#``)."""


@dataclass(frozen=True, slots=True)
class AttendanceCode:
    """One attendance code in force: the code, what it means, and its category."""

    code: str
    meaning: str
    category: AttendanceCategory


_P = AttendanceCategory.PRESENT
_AEA = AttendanceCategory.APPROVED_ACTIVITY
_LEAVE = AttendanceCategory.AUTHORISED_LEAVE
_AUTH = AttendanceCategory.AUTHORISED_OTHER
_UTA = AttendanceCategory.UNABLE_TO_ATTEND
_UNAUTH = AttendanceCategory.UNAUTHORISED
_NC = AttendanceCategory.NOT_COUNTED

_CODE_TABLE: tuple[AttendanceCode, ...] = (
    # Present
    AttendanceCode("/", "present (morning)", _P),
    AttendanceCode("\\", "present (afternoon)", _P),
    AttendanceCode("L", "late, arrived before the register closed", _P),
    # Attending an approved educational activity
    AttendanceCode("K", "attending education provision arranged by the local authority", _AEA),
    AttendanceCode("V", "attending an educational visit or trip", _AEA),
    AttendanceCode("P", "participating in a supervised sporting activity", _AEA),
    AttendanceCode("W", "attending work experience", _AEA),
    AttendanceCode("B", "attending any other approved educational activity", _AEA),
    # Authorised absence: leave of absence
    AttendanceCode(
        "C1", "leave for a regulated performance or regulated employment abroad", _LEAVE
    ),
    AttendanceCode("M", "leave for a medical or dental appointment", _LEAVE),
    AttendanceCode(
        "J1", "leave for an interview for employment or another educational institution", _LEAVE
    ),
    AttendanceCode("S", "leave for studying for a public examination", _LEAVE),
    AttendanceCode("X", "not of compulsory school age and not required to attend", _LEAVE),
    AttendanceCode("C2", "leave for a pupil on a part-time timetable", _LEAVE),
    AttendanceCode("C", "leave of absence in exceptional circumstances", _LEAVE),
    # Authorised absence: other
    AttendanceCode("T", "parent travelling for occupational purposes (Traveller children)", _AUTH),
    AttendanceCode("R", "religious observance", _AUTH),
    AttendanceCode("I", "illness (not a medical or dental appointment)", _AUTH),
    AttendanceCode("E", "suspended or permanently excluded, no alternative provision", _AUTH),
    # Unable to attend (not absence)
    AttendanceCode("Q", "unable to attend: local authority access arrangements not made", _UTA),
    AttendanceCode("Y1", "unable to attend: transport normally provided not available", _UTA),
    AttendanceCode("Y2", "unable to attend: widespread disruption to travel", _UTA),
    AttendanceCode("Y3", "unable to attend: part of the school premises closed", _UTA),
    AttendanceCode("Y4", "unable to attend: whole school site unexpectedly closed", _UTA),
    AttendanceCode("Y5", "unable to attend: in criminal justice detention", _UTA),
    AttendanceCode("Y6", "unable to attend: public health guidance or law", _UTA),
    AttendanceCode("Y7", "unable to attend: any other unavoidable cause", _UTA),
    # Unauthorised absence
    AttendanceCode("G", "holiday not agreed, or days in excess of agreed leave", _UNAUTH),
    AttendanceCode("N", "reason not yet provided (must be replaced within 5 school days)", _UNAUTH),
    AttendanceCode("O", "absent in other or unknown circumstances", _UNAUTH),
    AttendanceCode("U", "arrived after the register closed", _UNAUTH),
    # Not counted in possible sessions
    AttendanceCode("D", "dual registered: at the other school", _NC),
    AttendanceCode("Z", "prospective pupil not yet on roll", _NC),
    AttendanceCode("#", "planned whole or partial school closure", _NC),
)

#: Every code in force from August 2024, keyed by code (upper-case).  Read-only.
ATTENDANCE_CODES: Final[Mapping[str, AttendanceCode]] = MappingProxyType(
    {entry.code: entry for entry in _CODE_TABLE}
)


@dataclass(frozen=True, slots=True)
class WithdrawnCode:
    """A code no longer in use, what replaced it and a plain-English explanation.

    ``replacement`` is the short form used in messages (for example ``"J1"`` or
    ``"Y1 to Y7"``); ``replacement_codes`` lists the codes it refers to, every one of
    which is in :data:`ATTENDANCE_CODES`.
    """

    code: str
    former_meaning: str
    withdrawn: str
    replacement: str
    replacement_codes: tuple[str, ...]
    explanation: str


_WITHDRAWN_TABLE: tuple[WithdrawnCode, ...] = (
    WithdrawnCode(
        code="H",
        former_meaning="authorised absence: agreed family holiday",
        withdrawn="August 2024",
        replacement="C (leave agreed in exceptional circumstances) or G (holiday not agreed)",
        replacement_codes=("C", "G"),
        explanation=(
            "Holiday in term time can no longer be agreed as such: leave the head teacher "
            "grants in exceptional circumstances is C, and a holiday that was not agreed "
            "(or days beyond the leave agreed) is G."
        ),
    ),
    WithdrawnCode(
        code="F",
        former_meaning="authorised absence: agreed extended family holiday",
        withdrawn="September 2013",
        replacement="C (leave agreed in exceptional circumstances) or G (holiday not agreed)",
        replacement_codes=("C", "G"),
        explanation=(
            "F was withdrawn in September 2013, when schools were told to use H instead; "
            "H was itself withdrawn in August 2024.  Leave granted in exceptional "
            "circumstances is now C; a holiday that was not agreed is G."
        ),
    ),
    WithdrawnCode(
        code="J",
        former_meaning="interview",
        withdrawn="August 2024",
        replacement="J1",
        replacement_codes=("J1",),
        explanation=(
            "J became J1 (leave for an interview for employment or a place at another "
            "educational institution), which is authorised absence, not an approved "
            "educational activity."
        ),
    ),
    WithdrawnCode(
        code="Y",
        former_meaning="unable to attend due to exceptional circumstances",
        withdrawn="August 2024",
        replacement="Y1 to Y7, by cause",
        replacement_codes=("Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7"),
        explanation=(
            "Y was split by cause: Y1 transport normally provided not available, Y2 "
            "widespread travel disruption, Y3 part of the school closed, Y4 whole site "
            "unexpectedly closed, Y5 criminal justice detention, Y6 public health guidance "
            "or law, Y7 any other unavoidable cause.  Where the local authority has not "
            "made access arrangements (such as transport it should provide), Q is used."
        ),
    ),
)

#: Withdrawn codes (H, F, J, Y), keyed by code.  Read-only.
WITHDRAWN_CODES: Final[Mapping[str, WithdrawnCode]] = MappingProxyType(
    {entry.code: entry for entry in _WITHDRAWN_TABLE}
)


class AttendanceCodeError(ValueError):
    """Base class for attendance codes that cannot be accepted."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class WithdrawnAttendanceCode(AttendanceCodeError):
    """A code that used to exist but is no longer in use (H, F, J or Y)."""

    def __init__(self, withdrawn: WithdrawnCode) -> None:
        super().__init__(
            withdrawn.code,
            f"attendance code {withdrawn.code} ({withdrawn.former_meaning}) was withdrawn in "
            f"{withdrawn.withdrawn}; use {withdrawn.replacement} instead. "
            f"{withdrawn.explanation}",
        )
        self.withdrawn = withdrawn


class UnknownAttendanceCode(AttendanceCodeError):
    """A string that is not, and never was, an attendance code."""

    def __init__(self, code: str) -> None:
        if code.strip() == "":
            message = "an empty attendance mark is not a code; a session with no mark is a data gap"
        else:
            message = f"{code!r} is not an attendance code in use in England since August 2024"
        super().__init__(code, message)


def attendance_code(code: str) -> AttendanceCode:
    """Return the :class:`AttendanceCode` for ``code``.

    Surrounding whitespace is ignored and letters are upper-cased.

    Raises :class:`WithdrawnAttendanceCode` for H, F, J and Y (the message names the
    code and its replacement) and :class:`UnknownAttendanceCode` for anything else that
    is not in :data:`ATTENDANCE_CODES`.  Both are :class:`ValueError` subclasses.
    """
    key = code.strip().upper()
    found = ATTENDANCE_CODES.get(key)
    if found is not None:
        return found
    withdrawn = WITHDRAWN_CODES.get(key)
    if withdrawn is not None:
        raise WithdrawnAttendanceCode(withdrawn)
    raise UnknownAttendanceCode(code)


#: Codes that are unexplained absence for CME purposes (``U``: the child was seen).
UNEXPLAINED_ABSENCE_CODES: Final[frozenset[str]] = frozenset({"G", "N", "O"})

#: Codes that neither break nor extend a run of unexplained absence.
NEUTRAL_FOR_RUNS_CODES: Final[frozenset[str]] = frozenset({"#", "Z", "X"})


def is_unexplained_absence(code: str) -> bool:
    """Return whether ``code`` is unexplained absence for CME purposes (G, N or O).

    Raises like :func:`attendance_code` for withdrawn or unknown codes.
    """
    return attendance_code(code).code in UNEXPLAINED_ABSENCE_CODES


def is_neutral_for_runs(code: str) -> bool:
    """Return whether ``code`` neither breaks nor extends a run (``#``, ``Z``, ``X``).

    Raises like :func:`attendance_code` for withdrawn or unknown codes.  A missing mark
    (a data gap) is also neutral, but is ``None`` rather than a code.
    """
    return attendance_code(code).code in NEUTRAL_FOR_RUNS_CODES


def breaks_run(code: str) -> bool:
    """Return whether ``code`` ends a run of unexplained absence.

    True for every code in force except G, N, O (which extend a run) and ``#``, Z, X
    (neutral): so present, late, approved activity, authorised absence, unable to
    attend, ``U`` and ``D`` all break a run.  Raises like :func:`attendance_code` for
    withdrawn or unknown codes.
    """
    key = attendance_code(code).code
    return key not in UNEXPLAINED_ABSENCE_CODES and key not in NEUTRAL_FOR_RUNS_CODES


# ---------------------------------------------------------------------------
# Thresholds (rules.md section 4), in school days.  One school day = two sessions.
# ---------------------------------------------------------------------------

#: Sessions in a school day.
SESSIONS_PER_SCHOOL_DAY: Final = 2
#: Continuous unexplained absence that triggers a school's CME referral and the
#: national continuous-absence return.
CME_REFERRAL_SCHOOL_DAYS: Final = 10
#: Continuous unauthorised absence for deletion ground (i) (with failed joint enquiries).
DELETION_GROUND_I_SCHOOL_DAYS: Final = 20
#: School days after authorised leave ends without return, for deletion ground (h).
DELETION_GROUND_H_SCHOOL_DAYS: Final = 10
#: Illness absence that triggers the sickness return to the LA.
ILLNESS_RETURN_SCHOOL_DAYS: Final = 15


# ---------------------------------------------------------------------------
# Runs of unexplained absence (rules.md section 4)
# ---------------------------------------------------------------------------

#: Half of a school day: morning or afternoon session.
Half: TypeAlias = Literal["AM", "PM"]
#: A school session: its date and half.
SessionRef: TypeAlias = tuple[date, Half]

_HALF_ORDER: Final[Mapping[str, int]] = MappingProxyType({"AM": 0, "PM": 1})


@dataclass(frozen=True, slots=True)
class AbsenceRun:
    """A run of consecutive school sessions of unexplained absence (G, N or O).

    ``first_session`` and ``last_session`` are the first and last sessions coded G, N or
    O in the run (a run may start on a PM session).  ``sessions`` counts the G/N/O
    sessions only: neutral sessions (``#``, Z, X) and data gaps inside the run are not
    counted in it.

    ``data_gaps`` counts the sessions with no mark that were met while the run was
    unbroken: from its first session until the mark that broke it, or until the end of
    the data if it is still open.  So it includes unmarked sessions *after*
    ``last_session`` but before the breaking mark (any of them might have been
    unexplained absence); it is a measure of how uncertain the length is.

    ``open`` is ``True`` if nothing broke the run before the data ended: the run may
    still be going on, and its length is the length so far.
    """

    first_session: SessionRef
    last_session: SessionRef
    sessions: int
    data_gaps: int
    open: bool

    @property
    def school_days(self) -> float:
        """Length in school days: ``sessions / 2`` (so 21 sessions is 10.5 days).

        A float is exact here: every half of an integer below 2**53 is representable,
        and it prints as ``10.5`` rather than ``21/2``.  Compare with thresholds using
        ``sessions`` (or :func:`runs_at_least`) when in doubt.
        """
        return self.sessions / SESSIONS_PER_SCHOOL_DAY


def unexplained_absence_runs(
    sessions: Iterable[tuple[date, Half, str | None]],
) -> list[AbsenceRun]:
    """Return every run of unexplained absence in one pupil's sessions at one school.

    ``sessions`` is the pupil's school sessions in strictly increasing order, as
    ``(date, "AM" | "PM", code)``.  Non-school days (weekends, holidays, closure days)
    must already be left out by the caller: they are not sessions.  ``code`` is the
    attendance mark, or ``None`` if the pupil was on roll but has no mark (a data gap).

    Rules: a G, N or O session starts or extends a run; ``#``, Z and X sessions and data
    gaps are neutral (gaps are counted in ``data_gaps``); any other code breaks the run.
    A run still unbroken at the end of the data is returned with ``open=True``.

    Runs are returned in order.  The function makes one pass, in O(n) time and O(1)
    space beyond the result.

    Raises :class:`ValueError` if a half is not ``"AM"``/``"PM"`` or the sessions are
    not strictly increasing (duplicate or out of order), and the errors of
    :func:`attendance_code` for withdrawn or unknown codes.
    """
    runs: list[AbsenceRun] = []
    first: SessionRef | None = None
    last: SessionRef | None = None
    count = 0
    gaps = 0
    previous: tuple[date, int] | None = None

    for day, half, code in sessions:
        half_index = _HALF_ORDER.get(half)
        if half_index is None:
            raise ValueError(f"session half must be 'AM' or 'PM', not {half!r} (on {day})")
        position = (day, half_index)
        if previous is not None and position <= previous:
            raise ValueError(
                f"sessions must be in order, each once: {day} {half} is not after "
                "the session before it"
            )
        previous = position

        if code is None:
            if first is not None:
                gaps += 1
            continue
        key = attendance_code(code).code
        if key in UNEXPLAINED_ABSENCE_CODES:
            if first is None:
                first = (day, half)
                count = 0
                gaps = 0
            last = (day, half)
            count += 1
        elif key in NEUTRAL_FOR_RUNS_CODES:
            continue
        elif first is not None and last is not None:
            runs.append(AbsenceRun(first, last, count, gaps, open=False))
            first = last = None

    if first is not None and last is not None:
        runs.append(AbsenceRun(first, last, count, gaps, open=True))
    return runs


def runs_at_least(runs: Iterable[AbsenceRun], school_days: float) -> list[AbsenceRun]:
    """Return the runs at least ``school_days`` long (``sessions >= 2 * school_days``).

    For the CME referral trigger use ``runs_at_least(runs, CME_REFERRAL_SCHOOL_DAYS)``:
    10 school days means 20 sessions.  Open runs are included on their length so far.

    Raises :class:`ValueError` unless ``school_days`` is positive.
    """
    if not school_days > 0:
        raise ValueError(f"school_days must be positive, not {school_days!r}")
    needed = school_days * SESSIONS_PER_SCHOOL_DAY
    return [run for run in runs if run.sessions >= needed]
