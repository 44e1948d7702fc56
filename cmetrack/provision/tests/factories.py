"""Helpers for the provision tests: synthetic providers, figures, calendar and marks."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.utils import timezone

from cmetrack.accounts.tests.factories import LocalAuthorityFactory, SchoolFactory
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case, FormOfProvision
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.organisations.models import Organisation
from cmetrack.provision import services
from cmetrack.provision.models import PlaceFigure, PostcodeCentroid, ProviderProfile
from cmetrack.rules.upn import upn_check_letter
from cmetrack.schoolcalendar.models import Term

SYSTEM = Actor.system("test")


def today() -> dt.date:
    return timezone.localdate()


def make_upn(serial: int, la: str = "999", estab: str = "4001", year: str = "26") -> str:
    body = f"{la}{estab}{year}{serial:03d}"
    return upn_check_letter(body) + body


def provider(
    name: str,
    *,
    estab: str,
    postcode: str = "",
    school_type: str = "academy",
    phase: str = "secondary",
    form: str | None = FormOfProvision.MAINSTREAM,
    years: tuple[int, int] = (7, 11),
    sen: str = "",
    sen_notes: str = "",
    at: tuple[float, float] | None = None,
) -> Organisation:
    """A school with an LAESTAB in authority 999, and its profile (unless ``form`` None)."""
    la = LocalAuthorityFactory.create(code="999")
    org = SchoolFactory.create(
        name=name,
        local_authority=la,
        estab_number=estab,
        postcode=postcode,
        school_type=school_type,
        phase=phase,
    )
    if form is not None:
        ProviderProfile.objects.create(
            organisation=org,
            provision_form=form,
            youngest_year=years[0],
            oldest_year=years[1],
            sen_suitability=sen,
            sen_notes=sen_notes,
            latitude=at[0] if at else None,
            longitude=at[1] if at else None,
        )
    return org


def figure(org: Organisation, year: int, places: int, as_of: dt.date | None = None) -> PlaceFigure:
    return PlaceFigure.objects.create(
        provider=org, year_group=year, places=places, as_of=as_of or today(), source="form"
    )


def centroid(postcode: str, lat: float, lon: float) -> PostcodeCentroid:
    return PostcodeCentroid.objects.create(postcode=postcode, latitude=lat, longitude=lon)


def term_around(day: dt.date, before: int = 150, after: int = 60) -> Term:
    return Term.objects.create(
        term_start=day - dt.timedelta(days=before),
        term_end=day + dt.timedelta(days=after),
        name="Test term",
    )


def write_csv(path: Path, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(header))
        for row in rows:
            writer.writerow(list(row))
    return path


def awaiting_provision(*, child: Any = None, determined_days_ago: int = 34) -> Case:
    """A located child assessed and with the form of provision determined (mainstream)."""
    case = case_in_state(CaseState.LOCATED, child=child)
    return services.provision_recommend(
        actor=SYSTEM,
        case=case,
        provision_recommended=FormOfProvision.MAINSTREAM,
        date_of_assessment=today() - dt.timedelta(days=determined_days_ago + 1),
        date_provision_determined=today() - dt.timedelta(days=determined_days_ago),
    )


def import_marks(
    tmp_path: Path, org: Organisation, upn: str, days: Iterable[dt.date], code: str = "/"
) -> None:
    """Marks for ``upn`` at ``org`` on ``days`` (both sessions), through the real importer."""
    from cmetrack.detection.importers import attendance_import

    rows = [(org.laestab, upn, d.isoformat(), s, code) for d in days for s in ("AM", "PM")]
    path = write_csv(tmp_path / "marks.csv", ("laestab", "upn", "date", "session", "code"), rows)
    run = attendance_import(actor=SYSTEM, path=path, file_name="marks.csv")
    assert run.status != "failed", run.errors
