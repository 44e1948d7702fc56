"""CSV imports: all or nothing, errors by line and column, idempotent, logged, permitted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.provision.imports import places_import, postcodes_import, providers_import
from cmetrack.provision.models import (
    PlaceFigure,
    PostcodeCentroid,
    ProviderProfile,
    ProvisionImportStatus,
)

from .factories import SYSTEM, provider, today, write_csv

pytestmark = pytest.mark.django_db
HEADER = ("laestab", "year_group", "places", "as_of")


@pytest.fixture
def schools():
    return (
        provider("Northgate Academy", estab="4001"),
        provider("Southfield Primary", estab="2001", years=(0, 6), phase="primary"),
    )


def problems(run):
    return [(e["line"], e["column"]) for e in run.errors]


def test_places_import_then_the_same_file_again_changes_nothing(tmp_path, schools):
    day = today().isoformat()
    path = write_csv(
        tmp_path / "p.csv",
        HEADER,
        [("9994001", "7", "3", day), ("9994001", "Year 8", "0", day), ("9992001", "R", "5", day)],
    )
    run = places_import(actor=SYSTEM, path=path, file_name="p.csv")
    assert (run.status, run.rows, run.changed) == (ProvisionImportStatus.SUCCEEDED, 3, 3)
    again = places_import(actor=SYSTEM, path=path, file_name="p.csv")
    assert (again.status, again.changed) == (ProvisionImportStatus.UNCHANGED, 0)
    assert PlaceFigure.objects.count() == 3
    assert PlaceFigure.objects.get(year_group=0).places == 5


def test_places_import_by_urn_and_uk_dates(tmp_path, schools):
    urn = schools[0].urn
    path = write_csv(
        tmp_path / "p.csv",
        ("urn", "year_group", "places", "as_of"),
        [(urn, "y9", "2", today().strftime("%d/%m/%Y"))],
    )
    run = places_import(actor=SYSTEM, path=path, file_name="p.csv")
    assert run.status == ProvisionImportStatus.SUCCEEDED, run.errors
    assert PlaceFigure.objects.get().year_group == 9


def test_a_file_with_errors_writes_nothing_and_says_where(tmp_path, schools):
    future = (today() + dt.timedelta(days=3)).isoformat()
    path = write_csv(
        tmp_path / "p.csv",
        HEADER,
        [
            ("9994001", "7", "3", today().isoformat()),  # good, but not written
            ("9990000", "7", "3", today().isoformat()),  # unknown school
            ("9994001", "15", "3", today().isoformat()),  # bad year group
            ("9994001", "8", "three", today().isoformat()),  # bad number
            ("9994001", "9", "3", "31/02/2026"),  # not a date
            ("9994001", "10", "3", future),  # future
            ("9994001", "7", "4", today().isoformat()),  # twice
        ],
    )
    run = places_import(actor=SYSTEM, path=path, file_name="p.csv")
    assert run.status == ProvisionImportStatus.FAILED
    assert problems(run) == [
        (3, "laestab"),
        (4, "year_group"),
        (5, "places"),
        (6, "as_of"),
        (7, "as_of"),
        (8, "year_group"),
    ]
    assert "line 2" in run.errors[-1]["message"]
    assert not PlaceFigure.objects.exists()


def test_a_missing_column_is_an_error_on_the_header(tmp_path, schools):
    path = write_csv(tmp_path / "p.csv", ("laestab", "places", "as_of"), [("9994001", "3", "x")])
    run = places_import(actor=SYSTEM, path=path, file_name="p.csv")
    assert problems(run) == [(1, "year_group")]
    path = write_csv(tmp_path / "q.csv", ("year_group", "places", "as_of"), [("7", "3", "x")])
    assert problems(places_import(actor=SYSTEM, path=path, file_name="q.csv")) == [
        (1, "laestab or urn")
    ]


def test_an_older_figure_is_kept_as_history_with_a_warning(tmp_path, schools):
    PlaceFigure.objects.create(
        provider=schools[0], year_group=7, places=1, as_of=today(), source="form"
    )
    path = write_csv(
        tmp_path / "p.csv",
        HEADER,
        [("9994001", "7", "4", (today() - dt.timedelta(days=10)).isoformat())],
    )
    run = places_import(actor=SYSTEM, path=path, file_name="p.csv")
    assert run.status == ProvisionImportStatus.SUCCEEDED
    assert run.warnings[0]["column"] == "as_of"
    from cmetrack.provision.selectors import current_figures

    assert current_figures().get(provider=schools[0], year_group=7).places == 1


@pytest.mark.parametrize("role", [Role.ADMISSIONS, Role.CME_OFFICER])
def test_admissions_and_cme_staff_import(tmp_path, schools, make_user, role):
    path = write_csv(tmp_path / "p.csv", HEADER, [("9994001", "7", "3", today().isoformat())])
    run = places_import(actor=Actor(user=make_user(role)), path=path, file_name="p.csv")
    assert run.status == ProvisionImportStatus.SUCCEEDED


@pytest.mark.parametrize("role", [Role.SCHOOL_USER, Role.AUDITOR, Role.SLO])
def test_other_roles_cannot_import(tmp_path, schools, make_user, role):
    path = write_csv(tmp_path / "p.csv", HEADER, [("9994001", "7", "3", today().isoformat())])
    run = places_import(actor=Actor(user=make_user(role)), path=path, file_name="p.csv")
    assert run.status == ProvisionImportStatus.FAILED
    assert "permission" in run.errors[0]["message"]
    assert not PlaceFigure.objects.exists()


def test_postcode_centroids_nspl_like(tmp_path):
    path = write_csv(
        tmp_path / "c.csv",
        ("pcds", "latitude", "longitude", "oslaua"),
        [("ab12cd", "57.14", "-2.11", "S1"), ("M1 1AE", "53.48", "-2.24", "E1")],
    )
    run = postcodes_import(actor=SYSTEM, path=path, file_name="c.csv")
    assert (run.status, run.changed) == (ProvisionImportStatus.SUCCEEDED, 2), run.errors
    assert PostcodeCentroid.objects.get(postcode="AB1 2CD").latitude == Decimal("57.14000")
    assert postcodes_import(actor=SYSTEM, path=path, file_name="c.csv").status == "unchanged"
    bad = write_csv(
        tmp_path / "d.csv",
        ("postcode", "lat", "long"),
        [("nonsense", "57", "-2"), ("M1 1AE", "95", "-2"), ("M1 1AE", "53", "x")],
    )
    assert problems(postcodes_import(actor=SYSTEM, path=bad, file_name="d.csv")) == [
        (2, "postcode"),
        (3, "lat"),
        (4, "long"),
    ]


def test_provider_profiles_import(tmp_path, schools):
    path = write_csv(
        tmp_path / "pr.csv",
        (
            "laestab",
            "form",
            "youngest_year",
            "oldest_year",
            "sen_suitability",
            "sen_notes",
            "lat",
            "long",
        ),
        [("9994001", "special", "7", "13", "specialist", "Autism", "51.5", "-0.1")],
    )
    run = providers_import(actor=SYSTEM, path=path, file_name="pr.csv")
    assert run.status == ProvisionImportStatus.SUCCEEDED, run.errors
    profile = ProviderProfile.objects.get(organisation=schools[0])
    assert (profile.provision_form, profile.oldest_year, profile.sen_notes) == (
        "special",
        13,
        "Autism",
    )
    assert providers_import(actor=SYSTEM, path=path, file_name="pr.csv").status == "unchanged"
    bad = write_csv(
        tmp_path / "b.csv",
        ("laestab", "form", "youngest_year", "oldest_year"),
        [("9994001", "boarding", "9", "7")],
    )
    assert problems(providers_import(actor=SYSTEM, path=bad, file_name="b.csv")) == [
        (2, "form"),
        (2, "oldest_year"),
    ]
