"""Demo data for places: synthetic profiles, locations and dated figures for the demo
authority's schools. Called once from :mod:`cmetrack.demo.services`."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from decimal import Decimal

from cmetrack.cases.models import FormOfProvision
from cmetrack.organisations.models import Organisation, SchoolPhase, SchoolType

from .models import FigureSource, PlaceFigure, PostcodeCentroid, ProviderProfile, SenSuitability
from .rules import normalise_postcode

#: A synthetic box for the demo county (central southern England); no real places.
LAT, LON, SPAN = 51.20, -1.30, 0.30

YEARS_BY_PHASE = {
    SchoolPhase.PRIMARY: (0, 6),
    SchoolPhase.SECONDARY: (7, 11),
    SchoolPhase.ALL_THROUGH: (0, 13),
    SchoolPhase.MIDDLE: (5, 8),
}


def _point(rng: random.Random) -> tuple[Decimal, Decimal]:
    return (
        Decimal(str(round(LAT + rng.uniform(-SPAN, SPAN), 5))),
        Decimal(str(round(LON + rng.uniform(-SPAN, SPAN), 5))),
    )


def demo_places(*, schools: Sequence[Organisation], today: dt.date, seed: int = 10) -> int:
    """Profiles, centroids and one figure per year group for each school; about one school
    in six has figures older than a month, so staleness shows. Returns figures written."""
    rng = random.Random(seed)
    figures: list[PlaceFigure] = []
    for school in schools:
        sen: str
        if school.school_type == SchoolType.SPECIAL:
            form, sen = FormOfProvision.SPECIAL, SenSuitability.SPECIALIST
        elif school.school_type in (SchoolType.PRU, SchoolType.ALTERNATIVE_PROVISION):
            form, sen = FormOfProvision.ALTERNATIVE, SenSuitability.MAINSTREAM
        else:
            form = FormOfProvision.MAINSTREAM
            sen = rng.choice(
                [SenSuitability.MAINSTREAM, SenSuitability.MAINSTREAM, SenSuitability.RESOURCED, ""]
            )
        youngest, oldest = YEARS_BY_PHASE.get(SchoolPhase(school.phase or "secondary"), (7, 11))
        lat, lon = _point(rng)
        ProviderProfile.objects.create(
            organisation=school,
            provision_form=form,
            youngest_year=youngest,
            oldest_year=oldest,
            sen_suitability=sen,
            sen_notes="Autism resource base" if sen == SenSuitability.RESOURCED else "",
            latitude=lat,
            longitude=lon,
        )
        postcode = normalise_postcode(school.postcode)
        if postcode:
            PostcodeCentroid.objects.get_or_create(
                postcode=postcode, defaults={"latitude": lat, "longitude": lon}
            )
        age = rng.choice([2, 5, 9, 14, 21, 28, 45])
        for year in range(youngest, oldest + 1):
            figures.append(
                PlaceFigure(
                    provider=school,
                    year_group=year,
                    places=rng.choice([0, 0, 1, 2, 3, 5]),
                    as_of=today - dt.timedelta(days=age),
                    source=FigureSource.DEMO,
                )
            )
    PlaceFigure.objects.bulk_create(figures)
    return len(figures)
