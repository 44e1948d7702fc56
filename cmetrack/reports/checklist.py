"""The 22-point self-evaluation checklist (reporting.md) and the evidence the system can
produce for each point from its own records."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from cmetrack.cases.models import Case
from cmetrack.detection.models import ImportRun
from cmetrack.provision.rules import is_stale
from cmetrack.provision.selectors import current_figures
from cmetrack.referrals.models import Referral
from cmetrack.transfers.models import CtfFile
from cmetrack.transfers.selectors import activity_by_month

from .models import TermlyReport
from .periods import months_back


@dataclass(frozen=True)
class Point:
    number: int
    section: str
    text: str


_S1 = "Strategic management and leadership"
_S2 = "Networks and points of contact"
_S3 = "Information systems"
_S4 = "Provision brokering"
_S5 = "Pupil tracking"

POINTS: tuple[Point, ...] = (
    Point(1, _S1, "Written policy agreed with partners."),
    Point(2, _S1, "Arrangements embedded in children's trust governance and safeguarding."),
    Point(
        3,
        _S1,
        "Regular (termly) monitoring of processes and numbers by senior management and members.",
    ),
    Point(4, _S2, "Key stakeholders identified."),
    Point(5, _S2, "Notification routes provided and publicised."),
    Point(6, _S2, "Named contact point to receive details."),
    Point(7, _S2, "Clear responsibilities for that role."),
    Point(8, _S3, "Database of children not in education, including new to the area or country."),
    Point(
        9,
        _S3,
        "Database fields: date notified, date form of provision determined, date "
        "accessed provision.",
    ),
    Point(10, _S3, "Numbers monitored and sent to senior officers."),
    Point(11, _S3, "Educational status of vulnerable groups monitored, from more than one source."),
    Point(12, _S3, "Clear access rules and procedures for fair and safe processing."),
    Point(13, _S4, "Processes to secure other agencies' support."),
    Point(14, _S4, "Agreed process to secure provision once found."),
    Point(15, _S4, "Pace into provision monitored."),
    Point(16, _S4, "Up-to-date information on school and alternative places."),
    Point(17, _S5, "Record of children who left providers without a known destination."),
    Point(
        18,
        _S5,
        "Follow-up at regular intervals (at least monthly) until registered with a new provider.",
    ),
    Point(19, _S5, "Agreed system with schools for children leaving provision."),
    Point(20, _S5, "Schools supported to transfer files electronically."),
    Point(21, _S5, "Named administrator for the transfer system and the lost-pupil area."),
    Point(22, _S5, "Regular (at least monthly) upload to and download from the lost-pupil area."),
)
POINT_NUMBERS = frozenset(p.number for p in POINTS)


@dataclass(frozen=True)
class Evidence:
    text: str
    href: str = ""


def _figure(key: str, dimension: str = "") -> str:
    url = reverse("reports:figure", args=[key])
    return f"{url}?dimension={dimension}" if dimension else url


def evidence_for(number: int, *, today: dt.date | None = None) -> list[Evidence]:
    """What the records show for point ``number``; empty when the system cannot evidence
    it (policy, governance, named roles are outside the records)."""

    today = today or timezone.localdate()
    year_ago = months_back(today, 12)
    if number in (3, 10):
        reports = TermlyReport.objects.aggregate(n=Count("pk"), terms=Count("title", distinct=True))
        last = TermlyReport.objects.order_by("-issued_at").first()
        text = f"{reports['n']} termly reports issued, covering {reports['terms']} terms"
        if last is not None:
            text += f"; the latest, {last.title}, on {last.issued_at:%d %B %Y}"
        return [Evidence(text + ".", reverse("reports:termly-history"))]
    if number == 4:
        row = Referral.objects.filter(received_at__date__gte=year_ago).aggregate(
            orgs=Count("referring_organisation", distinct=True), n=Count("pk")
        )
        return [
            Evidence(
                f"{row['orgs']} organisations made {row['n']} referrals in the last 12 months.",
                reverse("reports:dashboard") + "#referrals",
            )
        ]
    if number == 5:
        rows = (
            Referral.objects.filter(received_at__date__gte=year_ago)
            .values_list("route")
            .annotate(n=Count("pk"))
            .order_by()
        )
        used = ", ".join(f"{route}: {n}" for route, n in sorted(rows)) or "none"
        return [
            Evidence(
                f"Referrals in the last 12 months by route: {used}.",
                reverse("reports:dashboard") + "#referrals",
            )
        ]
    if number == 8:
        return [
            Evidence("Live figures with how each is computed.", reverse("reports:dashboard")),
            Evidence("Trends by month, term and year.", reverse("reports:trends")),
            Evidence("Children missing education new to the area.", _figure("cme", "new_to_area")),
            Evidence(
                "Children missing education new to the country.",
                _figure("cme", "new_to_country"),
            ),
            Evidence(
                "Children missing education by category and primary reason.",
                _figure("cme", "category"),
            ),
        ]
    if number == 9:
        row = Case.objects.aggregate(
            n=Count("pk"),
            determined=Count("pk", filter=Q(date_provision_determined__isnull=False)),
            moved=Count("pk", filter=Q(date_moved_into_provision__isnull=False)),
        )
        return [
            Evidence(
                f"Every one of {row['n']} cases has its date referred in; "
                f"{row['determined']} have the date provision was determined and "
                f"{row['moved']} the date moved into provision.",
                reverse("reports:pace"),
            )
        ]
    if number == 11:
        return [
            Evidence(
                "Children missing education by vulnerable group.", _figure("cme", "vulnerable")
            ),
            Evidence("Children missing education in care.", _figure("cme", "in_care")),
            Evidence("Sources: referral routes of those cases.", _figure("cme", "route")),
        ]
    if number == 12:
        return [
            Evidence(
                "Access is by role and scope (docs/adr/0007); every read of a child's record "
                "and every export is in the audit trail.",
                reverse("audit:search"),
            )
        ]
    if number == 15:
        return [
            Evidence("Pace into provision: mean, median, mode and range.", reverse("reports:pace"))
        ]
    if number == 16:
        dates = list(current_figures().values_list("as_of", flat=True))
        stale = sum(1 for d in dates if is_stale(d, today))
        if not dates:
            return [Evidence("No places figures recorded yet.", reverse("provision:places"))]
        return [
            Evidence(
                f"{len(dates)} current places figures by provider and year group; "
                f"{len(dates) - stale} at most a month old, {stale} stale.",
                reverse("provision:places"),
            )
        ]
    if number == 17:
        return [
            Evidence(
                "Leavers without a known destination and how many are still not found.",
                reverse("reports:dashboard") + "#leavers",
            )
        ]
    if number == 18:
        return [
            Evidence("Cases without contact for over a month.", _figure("no_contact")),
            Evidence("Dormant cases by review status.", _figure("dormant", "review")),
        ]
    if number == 20:
        files = CtfFile.objects.count()
        return [
            Evidence(
                f"{files} Common Transfer Files uploaded by schools and the authority.",
                reverse("transfers:activity"),
            )
        ]
    if number == 22:
        month_ago = months_back(today, 1)
        runs = ImportRun.objects.filter(started_at__date__gte=month_ago).count()
        months = activity_by_month(month_ago, today)
        uploads = sum(m.uploads for m in months)
        downloads = sum(m.downloads for m in months)
        return [
            Evidence(
                f"Lost-pupil area in the last month: {uploads} uploads and {downloads} "
                "downloads (monthly log).",
                reverse("transfers:activity"),
            ),
            Evidence(f"{runs} data imports recorded in the last month (import log)."),
        ]
    return []
