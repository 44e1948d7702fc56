"""The shortlist: year group, places, form, distance (centroids) or postcode fallback,
staleness, SEN suitability, and a restricted address never used for someone not named."""

from __future__ import annotations

import datetime as dt

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.people.models import Address, RestrictedAddressAccess
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.provision.shortlist import shortlist_for

from .factories import centroid, figure, provider, today

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(make_user):
    return make_user(Role.CME_OFFICER)


def located(postcode="AB1 2CD", restricted=False, **child):
    kid = ChildFactory.create(**child)
    if postcode is not None:
        Address.objects.create(
            child=kid, line1="1 High St", postcode=postcode, is_restricted=restricted
        )
    return case_in_state(CaseState.LOCATED, child=kid)


def names(shortlist):
    return [r.provider.name for r in shortlist.rows]


def test_only_providers_with_places_in_the_childs_year_group(officer):
    near = provider("Near Academy", estab="4001", postcode="AB1 2XY")
    full = provider("Full Academy", estab="4002", postcode="AB1 2XY")
    primary = provider("Small Primary", estab="2001", years=(0, 6), postcode="AB1 2XY")
    figure(near, 7, 2)
    figure(full, 7, 0)
    figure(full, 8, 5)
    figure(primary, 7, 9)  # a figure for a year the profile says it does not take
    shortlist = shortlist_for(user=officer, case=located(), today=today())
    assert shortlist.year_group == 7
    assert names(shortlist) == ["Near Academy"]


def test_nearest_first_by_centroids(officer):
    centroid("AB1 2CD", 51.50, -0.10)
    centroid("AB9 9ZZ", 51.60, -0.10)  # ~6.9 miles north
    far = provider("Far Academy", estab="4001", postcode="AB9 9ZZ")
    close = provider("Close Academy", estab="4002", at=(51.51, -0.10))  # own location
    unknown = provider("Unknown Academy", estab="4003", postcode="AB1 2QQ")
    for org in (far, close, unknown):
        figure(org, 7, 1)
    shortlist = shortlist_for(user=officer, case=located(), today=today())
    assert names(shortlist) == ["Close Academy", "Far Academy", "Unknown Academy"]
    rows = shortlist.rows
    assert rows[0].distance == pytest.approx(0.69, abs=0.01)
    assert rows[1].where == "6.9 miles"
    assert rows[2].where == "Distance not known (same postcode sector)"
    assert any("no known location" in n for n in shortlist.notes)


def test_without_centroids_ordered_by_sector_district_area_and_says_so(officer):
    for i, (name, pc) in enumerate(
        [
            ("Area", "AB7 1AA"),
            ("Elsewhere", "ZZ1 1AA"),
            ("Sector", "AB1 2ZZ"),
            ("District", "AB1 5AA"),
        ]
    ):
        figure(provider(name, estab=f"40{i:02d}", postcode=pc), 7, 1)
    shortlist = shortlist_for(user=officer, case=located(), today=today())
    assert names(shortlist) == ["Sector", "District", "Area", "Elsewhere"]
    assert any("No centroid is recorded for AB1 2CD" in n for n in shortlist.notes)


def test_the_recommended_form_narrows_the_list_and_sen_is_shown(officer):
    mainstream = provider("Main Academy", estab="4001", sen="resourced", sen_notes="Autism base")
    special = provider(
        "Meadow Special", estab="7001", form="special", years=(0, 13), sen="specialist"
    )
    unprofiled = provider("Plain School", estab="4002", form=None, school_type="pru")
    for org in (mainstream, special, unprofiled):
        figure(org, 7, 1)
    case = located(sen_provision="E")
    everything = shortlist_for(user=officer, case=case, today=today(), form="")
    assert set(names(everything)) == {"Main Academy", "Meadow Special", "Plain School"}
    only_special = shortlist_for(user=officer, case=case, today=today(), form="special")
    assert names(only_special) == ["Meadow Special"]
    assert only_special.rows[0].sen.startswith("Specialist")
    alternative = shortlist_for(user=officer, case=case, today=today(), form="alternative")
    assert names(alternative) == ["Plain School"]  # a PRU with no profile: alternative provision
    main = next(r for r in everything.rows if r.provider == mainstream)
    assert main.sen == "Mainstream with resourced provision (SEN unit): Autism base"
    assert next(r for r in everything.rows if r.provider == unprofiled).sen == "Not recorded"


def test_stale_figures_are_marked(officer):
    figure(
        provider("Old Figure Academy", estab="4001"), 7, 1, as_of=today() - dt.timedelta(days=40)
    )
    shortlist = shortlist_for(user=officer, case=located(), today=today())
    assert shortlist.rows[0].stale
    assert any("more than a month old" in n for n in shortlist.notes)


def test_the_newest_figure_counts(officer):
    org = provider("Changing Academy", estab="4001")
    figure(org, 7, 3, as_of=today() - dt.timedelta(days=5))
    figure(org, 7, 0, as_of=today())
    assert names(shortlist_for(user=officer, case=located(), today=today())) == []


def test_a_restricted_address_is_not_used_for_someone_not_named(officer, make_user):
    centroid("AB1 2CD", 51.50, -0.10)
    figure(provider("Near Academy", estab="4001", at=(51.51, -0.10)), 7, 1)
    case = located(restricted=True)
    hidden = shortlist_for(user=officer, case=case, today=today())
    assert hidden.rows[0].distance is None
    assert hidden.rows[0].where.startswith("Distance not known")
    assert any("restricted" in n for n in hidden.notes)
    RestrictedAddressAccess.objects.create(
        child=case.child, user=officer, granted_by=make_user(Role.CME_MANAGER)
    )
    shown = shortlist_for(user=officer, case=case, today=today())
    assert shown.rows[0].distance is not None


def test_no_date_of_birth_no_shortlist(officer):
    figure(provider("Any Academy", estab="4001"), 7, 1)
    shortlist = shortlist_for(user=officer, case=located(dob=None), today=today())
    assert shortlist.rows == []
    assert "date of birth is not recorded" in shortlist.notes[0]
