"""What the transfer pages show, computed outside the templates."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from cmetrack.kit.dates import govuk_date

from .models import CtfPupil, LostPupil
from .selectors import MonthActivity
from .services import stored_pupil


@dataclass
class LostPupilPresenter:
    lost: LostPupil
    detail: bool = False

    @property
    def pupil(self) -> CtfPupil:
        return self.lost.pupil

    @property
    def href(self) -> str:
        return reverse("transfers:lost-pupil", args=[self.lost.pk])

    @property
    def name(self) -> str:
        return self.pupil.full_name

    @property
    def dob(self) -> str:
        return govuk_date(self.pupil.dob) if self.pupil.dob else "Not known"

    @property
    def left(self) -> str:
        f = self.pupil.file
        return f"{f.source_name or 'School'} ({f.source_laestab})"

    @property
    def destination(self) -> str:
        return self.lost.get_destination_kind_display()

    @property
    def status(self) -> str:
        return self.lost.get_status_display()

    @property
    def added(self) -> str:
        return govuk_date(self.lost.added_at.date())

    @property
    def file_id(self) -> int:
        return int(self.pupil.file_id)

    @property
    def open(self) -> bool:
        return self.lost.status in {"open", "possible_match"}

    @property
    def matches(self) -> list[dict[str, str]]:
        return [
            {
                "name": m.name,
                "upn": m.upn,
                "school": m.school.name,
                "roll_date": govuk_date(m.roll_date),
                "dob": govuk_date(m.dob) if m.dob else "",
                "likelihood": f"{m.probability:.0%}",
                "how": m.get_how_display(),
                "school_id": str(m.school_id),
            }
            for m in self.lost.matches.select_related("school")
        ]

    def summary_rows(self) -> list[tuple[str, str]]:
        p = stored_pupil(self.pupil)
        rows = [
            ("UPN", p.upn or "Not given"),
            ("Former UPN", p.former_upn or "None"),
            ("Name", p.full_name),
            (
                "Preferred name",
                " ".join(x for x in (p.preferred_forename, p.preferred_surname) if x) or "None",
            ),
            ("Former surname", p.former_surname or "None"),
            ("Date of birth", govuk_date(p.dob) if p.dob else "Not known"),
            ("Sex", {"F": "Female", "M": "Male"}.get(p.sex, "Not known")),
            (
                "Last address in the file",
                ", ".join(
                    [
                        *(p.address.lines if p.address else ()),
                        p.address.postcode if p.address else "",
                    ]
                ).strip(", ")
                or "None",
            ),
            ("Left", self.left),
            ("Destination", self.destination),
            ("Note from the school", self.pupil.file.suppinfo or "None"),
            ("Other sections kept", ", ".join(k for k, _t in p.sections) or "None"),
            ("Elements kept as sent", str(len(p.unknown))),
        ]
        for c in p.contacts:
            rows.append(("Contact", f"{c.name} ({c.relationship}) {' '.join(c.phones)}".strip()))
        return rows


def activity_rows(months: list[MonthActivity]) -> list[list[dict[str, str]]]:
    return [
        [
            {"text": f"{m.month:%B %Y}"},
            {"text": str(m.uploads), "format": "numeric"},
            {"text": str(m.downloads), "format": "numeric"},
            {"text": str(m.searches), "format": "numeric"},
            {"text": str(m.forwards), "format": "numeric"},
            {"text": str(m.exports), "format": "numeric"},
            {"text": str(m.requests), "format": "numeric"},
            {"text": str(m.matches), "format": "numeric"},
        ]
        for m in months
    ]
