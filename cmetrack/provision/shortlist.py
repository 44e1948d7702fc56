"""The shortlist of providers for a child who needs a place.

Providers that take the child's year group and have places in it (by their current
figure), nearest first:

- distance in miles between the child's home postcode centroid and the provider's
  (its own latitude and longitude, else its postcode's centroid), when both are known;
- otherwise, and after every provider with a known distance, by postcode nearness (same
  sector, district, area, elsewhere) and then name, and the row says so.

The form of provision recommended narrows the list (mainstream, alternative, special); SEN
suitability is shown where recorded. The year group is the child's national curriculum
year on ``today`` (rules.school_age).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cmetrack.accounts.models import User
from cmetrack.cases.models import Case, FormOfProvision
from cmetrack.organisations.models import Organisation, SchoolType
from cmetrack.people.choices import SenProvision
from cmetrack.rules.school_age import academic_year_start_for, national_curriculum_year

from . import selectors
from .models import PlaceFigure, ProviderProfile, SenSuitability
from .rules import (
    NEARNESS_TEXT,
    distance_miles,
    is_stale,
    normalise_postcode,
    postcode_nearness,
    year_group_label,
)

#: The form of provision a provider offers when no profile says otherwise.
FORM_BY_SCHOOL_TYPE = {
    SchoolType.SPECIAL: FormOfProvision.SPECIAL,
    SchoolType.PRU: FormOfProvision.ALTERNATIVE,
    SchoolType.ALTERNATIVE_PROVISION: FormOfProvision.ALTERNATIVE,
}


def provision_form_of(provider: Organisation, profile: ProviderProfile | None) -> str:
    if profile is not None:
        return profile.provision_form
    if provider.school_type in FORM_BY_SCHOOL_TYPE:
        return str(FORM_BY_SCHOOL_TYPE[SchoolType(provider.school_type)])
    return str(FormOfProvision.MAINSTREAM)


def provider_centre(
    provider: Organisation,
    profile: ProviderProfile | None,
    centres: dict[str, tuple[float, float]],
) -> tuple[float, float] | None:
    """The provider's own latitude and longitude, else its postcode's centroid."""
    if profile is not None and profile.latitude is not None and profile.longitude is not None:
        return float(profile.latitude), float(profile.longitude)
    return centres.get(normalise_postcode(provider.postcode))


def year_group_for(case: Case, today: dt.date) -> int | None:
    dob = case.child.dob
    if dob is None:
        return None
    return national_curriculum_year(dob, academic_year_start_for(today))


@dataclass(frozen=True)
class ShortlistRow:
    provider: Organisation
    form: str
    places: int
    figure_as_of: dt.date
    stale: bool
    distance: float | None
    nearness: int
    sen: str

    @property
    def where(self) -> str:
        if self.distance is not None:
            return f"{self.distance:.1f} miles"
        return f"Distance not known ({NEARNESS_TEXT[self.nearness]})"


@dataclass
class Shortlist:
    year_group: int | None
    form: str
    rows: list[ShortlistRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def year_label(self) -> str:
        return year_group_label(self.year_group) if self.year_group is not None else ""


def sen_text(child_sen: str, profile: ProviderProfile | None) -> str:
    """What the shortlist says about SEN suitability for this child at this provider."""
    recorded = profile.sen_suitability if profile is not None else ""
    if not recorded:
        return "Not recorded"
    notes = f": {profile.sen_notes}" if profile is not None and profile.sen_notes else ""
    label = SenSuitability(recorded).label
    if child_sen == SenProvision.EHC_PLAN and recorded == SenSuitability.MAINSTREAM:
        return f"{label} (the child has an EHC plan: check the plan can be met){notes}"
    if child_sen != SenProvision.EHC_PLAN and recorded == SenSuitability.SPECIALIST:
        return f"{label} (the child has no EHC plan){notes}"
    return f"{label}{notes}"


def shortlist_for(*, user: User, case: Case, today: dt.date, form: str | None = None) -> Shortlist:
    """The providers with places for the child's year group, nearest first.

    ``form``: the form of provision to list; by default the case's recommended form, and
    every form when none is recommended ('' lists every form).
    """
    wanted = case.provision_recommended if form is None else form
    year = year_group_for(case, today)
    result = Shortlist(year_group=year, form=wanted)
    if year is None:
        result.notes.append(
            "The child's date of birth is not recorded, so the year group is not known: "
            "record it on the child's record to see a shortlist."
        )
        return result
    if not 0 <= year <= 13:
        result.notes.append(
            f"The child's year group ({year_group_label(year) if year >= 0 else 'below Reception'}"
            ") is outside school year groups: no shortlist."
        )
        return result
    home, why_not = selectors.home_postcode(user=user, case=case)
    if why_not:
        result.notes.append(why_not)
    figures: list[PlaceFigure] = list(
        selectors.current_figures()
        .filter(year_group=year, places__gt=0, provider__is_active=True)
        .select_related("provider__provider_profile")
    )
    postcodes = [home] + [f.provider.postcode for f in figures]
    centres = selectors.centroids(postcodes)
    home_centre = centres.get(home) if home else None
    if home and home_centre is None:
        result.notes.append(
            f"No centroid is recorded for {home}: providers are ordered by postcode sector, "
            "district and area instead of distance."
        )
    rows = []
    for figure in figures:
        provider = figure.provider
        profile = getattr(provider, "provider_profile", None)
        if profile is not None and not profile.youngest_year <= year <= profile.oldest_year:
            continue
        provider_form = provision_form_of(provider, profile)
        if wanted and provider_form != wanted:
            continue
        distance = None
        if home_centre is not None:
            centre = provider_centre(provider, profile, centres)
            if centre is not None:
                distance = distance_miles(*home_centre, *centre)
        rows.append(
            ShortlistRow(
                provider=provider,
                form=FormOfProvision(provider_form).label,
                places=figure.places,
                figure_as_of=figure.as_of,
                stale=is_stale(figure.as_of, today),
                distance=distance,
                nearness=postcode_nearness(home, provider.postcode) if home else 3,
                sen=sen_text(case.child.sen_provision, profile),
            )
        )
    rows.sort(
        key=lambda r: (
            r.distance is None,
            r.distance if r.distance is not None else 0.0,
            r.nearness,
            r.provider.name,
        )
    )
    if home_centre is not None and any(r.distance is None for r in rows):
        result.notes.append(
            "Some providers have no known location: they are listed after the others, "
            "by postcode sector, district and area."
        )
    if any(r.stale for r in rows):
        result.notes.append(
            "Some figures are more than a month old: check with the provider before offering."
        )
    result.rows = rows
    return result
