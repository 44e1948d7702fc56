"""Pure rules of the places work: no Django, no clock (the caller passes ``today``).

- postcodes: normalising, and the parts used when no centroid is known
  (area ``AB``, district ``AB1``, sector ``AB1 2``);
- distance between two centroids (great-circle, miles);
- when a places figure is stale (dated more than one calendar month before today);
- year-group labels and the phases a range of year groups covers;
- attendance monitoring after a start (:func:`monitoring_result`).
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from cmetrack.rules.attendance import (
    ATTENDANCE_CODES,
    AttendanceCategory,
)

# --- Postcodes ------------------------------------------------------------------------------

_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")


def normalise_postcode(value: str) -> str:
    """``'ab12cd'`` → ``'AB1 2CD'``; ``''`` if it is not the shape of a UK postcode."""
    compact = re.sub(r"\s+", "", value or "").upper()
    match = _POSTCODE.match(compact)
    return f"{match.group(1)} {match.group(2)}" if match else ""


@dataclass(frozen=True)
class PostcodeParts:
    area: str  # "AB"
    district: str  # "AB1"
    sector: str  # "AB1 2"


def postcode_parts(value: str) -> PostcodeParts | None:
    postcode = normalise_postcode(value)
    if not postcode:
        return None
    outward, inward = postcode.split(" ")
    area = re.match(r"[A-Z]+", outward)
    return PostcodeParts(
        area=area.group(0) if area else "", district=outward, sector=f"{outward} {inward[0]}"
    )


#: How near two postcodes are when no centroid is known: lower is nearer.
SAME_SECTOR, SAME_DISTRICT, SAME_AREA, ELSEWHERE = 0, 1, 2, 3
NEARNESS_TEXT = {
    SAME_SECTOR: "same postcode sector",
    SAME_DISTRICT: "same postcode district",
    SAME_AREA: "same postcode area",
    ELSEWHERE: "another postcode area",
}


def postcode_nearness(home: str, other: str) -> int:
    """Sector, district, area or elsewhere: the fallback order when distance is unknown."""
    a, b = postcode_parts(home), postcode_parts(other)
    if a is None or b is None:
        return ELSEWHERE
    if a.sector == b.sector:
        return SAME_SECTOR
    if a.district == b.district:
        return SAME_DISTRICT
    if a.area == b.area:
        return SAME_AREA
    return ELSEWHERE


EARTH_RADIUS_MILES = 3958.8


def distance_miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in miles between two points in degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(h)))


# --- Staleness ------------------------------------------------------------------------------


def one_month_before(today: date) -> date:
    """The same day a calendar month earlier (31 March → 28 or 29 February)."""
    year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


def is_stale(as_of: date, today: date) -> bool:
    """A figure is stale when it is dated more than a month before today (reporting.md:
    places figures "at most a month old")."""
    return as_of < one_month_before(today)


# --- Year groups ----------------------------------------------------------------------------


def year_group_label(year: int) -> str:
    return "Reception" if year == 0 else f"Year {year}"


#: Phases by the year groups they cover.
PHASE_YEARS = (("Primary", 0, 6), ("Secondary", 7, 11), ("Sixth form", 12, 13))


def phases_for(youngest: int, oldest: int) -> list[str]:
    """The phases a provider taking ``youngest``..``oldest`` covers, in order."""
    return [name for name, lo, hi in PHASE_YEARS if youngest <= hi and oldest >= lo]


# --- Attendance monitoring ------------------------------------------------------------------

_ATTENDED = frozenset(
    c.code
    for c in ATTENDANCE_CODES.values()
    if c.category in {AttendanceCategory.PRESENT, AttendanceCategory.APPROVED_ACTIVITY}
)
#: Not possible sessions: D, Z, # (not counted), X (not of compulsory school age), and the
#: "unable to attend" codes Q and Y1 to Y7 (rules.md: not absence, so never held against
#: the child; the detection's attendance figures leave them out the same way).
_NOT_POSSIBLE = frozenset(
    c.code
    for c in ATTENDANCE_CODES.values()
    if c.category in {AttendanceCategory.NOT_COUNTED, AttendanceCategory.UNABLE_TO_ATTEND}
    or c.code == "X"
)


@dataclass(frozen=True)
class MonitoringResult:
    """Attendance at the new provider since the start, against the closing rule."""

    school_days: int  # school days since the start with at least one possible session
    attended: int  # sessions present or at approved educational activity
    possible: int  # sessions that count (every mark but D, Z, #, X, Q and Y1 to Y7)
    required_days: int
    threshold_percent: float
    last_mark: date | None

    @property
    def percent(self) -> float | None:
        return 100.0 * self.attended / self.possible if self.possible else None

    @property
    def period_complete(self) -> bool:
        return self.school_days >= self.required_days

    @property
    def attendance_good(self) -> bool:
        return self.percent is not None and self.percent >= self.threshold_percent

    @property
    def may_close(self) -> bool:
        """A period of 0 school days means the authority monitors nothing before closing."""
        if self.required_days <= 0:
            return True
        return self.period_complete and self.attendance_good


def monitoring_result(
    marks: Iterable[tuple[date, str, str]],
    school_days: Iterable[date],
    *,
    started_on: date,
    required_days: int,
    threshold_percent: float,
) -> MonitoringResult:
    """Count attendance from ``marks`` (``(date, 'AM'|'PM', code)`` at the new provider).

    Only school sessions on or after ``started_on`` count: marks on days that are not
    school days of the provider are ignored, and a repeated mark for a session keeps the
    last one given. A school day counts towards the period when it has a possible session.
    """
    days = frozenset(d for d in school_days if d >= started_on)
    by_session: dict[tuple[date, str], str] = {}
    for day, session, code in marks:
        if day in days:
            by_session[(day, session.upper())] = code.strip().upper()
    attended = possible = 0
    counted_days: set[date] = set()
    for (day, _), code in by_session.items():
        if code in _NOT_POSSIBLE:
            continue
        possible += 1
        counted_days.add(day)
        if code in _ATTENDED:
            attended += 1
    return MonitoringResult(
        school_days=len(counted_days),
        attended=attended,
        possible=possible,
        required_days=required_days,
        threshold_percent=threshold_percent,
        last_mark=max(counted_days) if counted_days else None,
    )


# --- Delays the panel needs -----------------------------------------------------------------


def school_days_after(school_days: Iterable[date], start: date, today: date) -> int:
    """School days strictly after ``start`` up to and including ``today``."""
    return sum(1 for d in school_days if start < d <= today)
