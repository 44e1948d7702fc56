"""Pages and API: who sees what, forms with errors in the user's terms, the whole flow."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.kit.testing import assert_problem, errors_by_field
from cmetrack.provision.models import (
    AdmissionApplication,
    PanelReferral,
    PlaceFigure,
    Placement,
)

from .factories import awaiting_provision, figure, make_upn, provider, today

pytestmark = pytest.mark.django_db


@pytest.fixture
def school():
    org = provider("Northgate Academy", estab="4001", postcode="AB1 2CD")
    figure(org, 7, 3)
    return org


def signed_in(client, make_user, role):
    user = make_user(role)
    client.force_login(user)
    return user


def date_fields(name, day):
    return {f"{name}-day": day.day, f"{name}-month": day.month, f"{name}-year": day.year}


# --- Places ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.CME_OFFICER, Role.ADMISSIONS, Role.AUDITOR])
def test_places_list_for_those_who_keep_or_watch_them(client, make_user, school, role):
    signed_in(client, make_user, role)
    stale = provider("Stale Academy", estab="4002")
    figure(stale, 8, 2, as_of=today() - dt.timedelta(days=45))
    page = client.get(reverse("provision:places"))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Northgate Academy" in body
    assert "Stale" in body
    assert "1 providers have a stale figure" in body
    filtered = client.get(reverse("provision:places"), {"year": "8"}).content.decode()
    assert "Stale Academy" in filtered
    assert "Northgate Academy" not in filtered


@pytest.mark.parametrize(
    "role", [Role.SCHOOL_USER, Role.AGENCY_USER, Role.SLO, Role.VIRTUAL_SCHOOL]
)
def test_places_are_not_for_other_roles(client, make_user, school, role):
    signed_in(client, make_user, role)
    assert client.get(reverse("provision:places")).status_code == 403
    assert client.get(reverse("provision:import")).status_code == 403
    assert client.get(reverse("provision:delays")).status_code == 403


def test_admissions_updates_a_figure_and_sees_errors_in_their_terms(client, make_user, school):
    signed_in(client, make_user, Role.ADMISSIONS)
    url = reverse("provision:provider", args=[school.pk])
    bad = client.post(url, {"year_group": "7", "places": "-2", **date_fields("as_of", today())})
    assert bad.status_code == 400
    assert "The number of places cannot be negative" in bad.content.decode()
    assert "There is a problem" in bad.content.decode()
    future = today() + dt.timedelta(days=2)
    bad = client.post(url, {"year_group": "7", "places": "2", **date_fields("as_of", future)})
    assert "The date of the figure must be today or in the past" in bad.content.decode()
    ok = client.post(url, {"year_group": "9", "places": "4", **date_fields("as_of", today())})
    assert ok.status_code == 302
    assert PlaceFigure.objects.get(provider=school, year_group=9).places == 4
    page = client.get(url).content.decode()
    assert "Places updated." in page


def test_an_auditor_reads_but_cannot_update(client, make_user, school):
    signed_in(client, make_user, Role.AUDITOR)
    url = reverse("provision:provider", args=[school.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"year_group": "9", "places": "4"}).status_code == 403
    assert client.get(reverse("provision:provider-profile", args=[school.pk])).status_code == 403


def test_profile_form(client, make_user, school):
    signed_in(client, make_user, Role.CME_OFFICER)
    url = reverse("provision:provider-profile", args=[school.pk])
    assert client.get(url).status_code == 200
    bad = client.post(
        url, {"provision_form": "mainstream", "youngest_year": "9", "oldest_year": "7"}
    )
    assert "The oldest year group must not be below the youngest" in bad.content.decode()
    ok = client.post(
        url,
        {
            "provision_form": "mainstream",
            "youngest_year": "7",
            "oldest_year": "13",
            "sen_suitability": "resourced",
            "sen_notes": "Hearing impairment",
            "latitude": "51.5",
            "longitude": "-0.1",
        },
    )
    assert ok.status_code == 302
    assert "Hearing impairment" in client.get(reverse("provision:places")).content.decode()


def test_import_page(client, make_user, school):
    signed_in(client, make_user, Role.ADMISSIONS)
    url = reverse("provision:import")
    assert client.get(url).status_code == 200
    good = SimpleUploadedFile(
        "places.csv", f"laestab,year_group,places,as_of\n9994001,8,2,{today()}\n".encode()
    )
    page = client.post(url, {"kind": "places", "file": good}).content.decode()
    assert "File imported" in page
    bad = SimpleUploadedFile("places.csv", b"laestab,year_group,places,as_of\n9994001,8,x,2026\n")
    page = client.post(url, {"kind": "places", "file": bad}).content.decode()
    assert "Your file was not imported" in page
    assert "places" in page
    notcsv = SimpleUploadedFile("places.pdf", b"%PDF-1.4")
    assert client.post(url, {"kind": "places", "file": notcsv}).status_code == 400


# --- A case's provision ---------------------------------------------------------------------


def test_the_whole_flow_through_the_pages(client, make_user, school):
    signed_in(client, make_user, Role.CME_OFFICER)
    case = case_in_state(CaseState.LOCATED)
    url = reverse("provision:case", args=[case.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "Northgate Academy" in page.content.decode()  # on the shortlist
    assert AuditEvent.objects.filter(
        action=AuditAction.VIEW, child_id=case.child_id, summary__contains="provision page"
    ).exists()

    # Recommend: missing dates are shown on their fields.
    rec = reverse("provision:recommend", args=[case.pk])
    bad = client.post(
        rec, {"provision_recommended": "mainstream", "expected_version": case.version}
    )
    assert bad.status_code == 400
    assert "Enter the date of the needs assessment" in bad.content.decode()
    day = today() - dt.timedelta(days=3)
    ok = client.post(
        rec,
        {
            "provision_recommended": "mainstream",
            "expected_version": case.version,
            **date_fields("date_of_assessment", day),
            **date_fields("date_provision_determined", day),
        },
    )
    assert ok.status_code == 302, ok.content.decode()
    case.refresh_from_db()
    assert (case.state, case.date_provision_determined) == (CaseState.AWAITING_PROVISION, day)

    # Panel: referral, then a decision naming the school.
    assert (
        client.post(
            reverse("provision:panel-refer", args=[case.pk]),
            {"reason": "Refused twice", **date_fields("referred_on", day)},
        ).status_code
        == 302
    )
    referral = PanelReferral.objects.get(case=case)
    decide = reverse("provision:panel-decision", args=[case.pk, referral.pk])
    bad = client.post(decide, {"decision": "school_named", **date_fields("decision_on", today())})
    assert "Choose the school the panel named" in bad.content.decode()
    assert (
        client.post(
            decide,
            {
                "decision": "school_named",
                "named_school": school.pk,
                **date_fields("decision_on", today()),
            },
        ).status_code
        == 302
    )

    # An application too (recorded and refused).
    assert (
        client.post(
            reverse("provision:application-add", args=[case.pk]),
            {"school": school.pk, **date_fields("applied_on", day)},
        ).status_code
        == 302
    )
    app = AdmissionApplication.objects.get(case=case)
    assert (
        client.post(
            reverse("provision:application-outcome", args=[case.pk, app.pk]),
            {
                "outcome": "refused",
                "notes": "Year group full",
                **date_fields("outcome_on", today()),
            },
        ).status_code
        == 302
    )

    # The start: the school the panel named is offered first.
    start = reverse("provision:start", args=[case.pk])
    form = client.get(start).content.decode()
    assert f'value="{school.pk}" selected' in form
    case.refresh_from_db()
    assert (
        client.post(
            start,
            {
                "provider": school.pk,
                "provision_accessed": "mainstream",
                "upn": make_upn(1),
                "expected_version": case.version,
                **date_fields("started_on", today()),
            },
        ).status_code
        == 302
    )
    case.refresh_from_db()
    assert (case.state, case.date_moved_into_provision) == (CaseState.IN_PROVISION, today())
    assert Placement.objects.filter(case=case).exists()
    page = client.get(url).content.decode()
    assert "Attendance in the new provision" in page
    assert "0 of 20" in page


def test_a_stale_version_is_a_conflict(client, make_user, school):
    signed_in(client, make_user, Role.CME_OFFICER)
    case = awaiting_provision()
    page = client.post(
        reverse("provision:start", args=[case.pk]),
        {
            "provider": school.pk,
            "provision_accessed": "mainstream",
            "upn": make_upn(2),
            "expected_version": case.version - 1,
            **date_fields("started_on", today()),
        },
    )
    assert page.status_code == 409
    case.refresh_from_db()
    assert case.state == CaseState.AWAITING_PROVISION


def test_admissions_see_only_cases_that_need_a_place(client, make_user, school):
    signed_in(client, make_user, Role.ADMISSIONS)
    waiting = awaiting_provision()
    tracking = case_in_state(CaseState.TRACKING)
    assert client.get(reverse("provision:case", args=[waiting.pk])).status_code == 200
    assert client.get(reverse("provision:case", args=[tracking.pk])).status_code == 404
    # Admissions record applications and panel work, but do not move the case.
    assert client.get(reverse("provision:application-add", args=[waiting.pk])).status_code == 200
    assert client.get(reverse("provision:start", args=[waiting.pk])).status_code == 403
    assert client.get(reverse("cases:case-detail", args=[waiting.pk])).status_code == 404


@pytest.mark.parametrize("role", [Role.SCHOOL_USER, Role.AGENCY_USER, Role.SLO, Role.AUDITOR])
def test_other_roles_never_see_a_case_provision_page(client, make_user, school, role):
    signed_in(client, make_user, role)
    case = awaiting_provision()
    for name in ("case", "recommend", "application-add", "panel-refer", "start"):
        assert client.get(reverse(f"provision:{name}", args=[case.pk])).status_code == 404
    assert (
        client.post(reverse("provision:panel-refer", args=[case.pk]), {"reason": "x"}).status_code
        == 404
    )
    assert not PanelReferral.objects.exists()
    assert client.get(f"/api/v1/cases/{case.pk}/shortlist").status_code == 404


def test_delay_queue_page(client, make_user, school):
    from .factories import term_around

    term_around(today())
    signed_in(client, make_user, Role.CME_OFFICER)
    case = awaiting_provision(determined_days_ago=35)
    body = client.get(reverse("provision:delays")).content.decode()
    assert case.reference in body
    assert "No place offered" in body


# --- API ------------------------------------------------------------------------------------


def test_api_places_and_shortlist(client, make_user, school):
    signed_in(client, make_user, Role.ADMISSIONS)
    listed = client.get("/api/v1/places", {"year_group": 7}).json()
    assert [(p["provider"], p["places"], p["stale"]) for p in listed] == [
        ("Northgate Academy", 3, False)
    ]
    created = client.post(
        "/api/v1/places",
        {"provider_id": school.pk, "year_group": 7, "places": 1, "as_of": str(today())},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    bad = client.post(
        "/api/v1/places",
        {
            "provider_id": school.pk,
            "year_group": 7,
            "places": 1,
            "as_of": str(today() + dt.timedelta(days=1)),
        },
        content_type="application/json",
    )
    assert "as_of" in errors_by_field(assert_problem(bad, 422, "invalid"))
    case = awaiting_provision()
    shortlist = client.get(f"/api/v1/cases/{case.pk}/shortlist").json()
    assert shortlist["year_group"] == 7
    assert [r["provider"] for r in shortlist["rows"]] == ["Northgate Academy"]


def test_api_refuses_other_roles(client, make_user, school):
    signed_in(client, make_user, Role.SCHOOL_USER)
    assert client.get("/api/v1/places").status_code == 403
    case = awaiting_provision()
    assert client.get(f"/api/v1/cases/{case.pk}/shortlist").status_code == 404


def test_the_case_page_links_to_provision_for_cme_staff(client, make_user, school):
    signed_in(client, make_user, Role.CME_OFFICER)
    case = awaiting_provision()
    page = client.get(reverse("cases:case-detail", args=[case.pk])).content.decode()
    assert reverse("provision:case", args=[case.pk]) in page
    tracking = case_in_state(CaseState.TRACKING)
    page = client.get(reverse("cases:case-detail", args=[tracking.pk])).content.decode()
    assert reverse("provision:case", args=[tracking.pk]) not in page


def test_places_in_the_menu(client, make_user):
    from cmetrack.core.presenters import navigation_for

    for role, shown in [(Role.ADMISSIONS, True), (Role.CME_OFFICER, True), (Role.SLO, False)]:
        items = navigation_for(make_user(role), "/")
        assert (
            {"text": "Places", "href": reverse("provision:places"), "current": False} in items
        ) is shown


def test_demo_places(make_user):
    from cmetrack.provision.demo import demo_places

    schools = [
        provider("Demo Primary", estab="2001", phase="primary", form=None, postcode="AB1 2CD"),
        provider(
            "Demo Special", estab="7001", phase="all_through", school_type="special", form=None
        ),
    ]
    written = demo_places(schools=schools, today=today())
    assert written == 7 + 14
    assert schools[1].provider_profile.provision_form == "special"
    officer = make_user(Role.CME_OFFICER)
    from cmetrack.provision.selectors import may_see_places

    assert may_see_places(officer)


def test_places_export_round_trips_through_the_import(client, make_user, school, tmp_path):
    from cmetrack.provision.imports import places_import

    from .factories import SYSTEM

    signed_in(client, make_user, Role.AUDITOR)
    response = client.get(reverse("provision:export"))
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[1].startswith("9994001,")
    path = tmp_path / "back.csv"
    path.write_text(text)
    assert places_import(actor=SYSTEM, path=path, file_name="back.csv").status == "unchanged"
    signed_in(client, make_user, Role.SCHOOL_USER)
    assert client.get(reverse("provision:export")).status_code == 403


def test_home_shows_children_waiting_too_long(client, make_user, school):
    from .factories import term_around

    term_around(today())
    case = awaiting_provision(determined_days_ago=35)
    signed_in(client, make_user, Role.ADMISSIONS)
    body = client.get("/").content.decode()
    assert "Children waiting too long for a place" in body
    assert case.reference in body
    signed_in(client, make_user, Role.CME_OFFICER)
    assert case.reference in client.get("/").content.decode()
    signed_in(client, make_user, Role.SLO)
    assert "Children waiting too long" not in client.get("/").content.decode()


def test_the_panel_agenda_lists_children_waiting_for_the_panel(client, make_user, school):
    from cmetrack.provision import services

    from .factories import SYSTEM, term_around

    term_around(today())
    later, sooner, decided = awaiting_provision(), awaiting_provision(), awaiting_provision()
    for case, panel in ((later, 9), (sooner, 2), (decided, 1)):
        services.panel_referral_record(
            actor=SYSTEM,
            case=case,
            referred_on=today() - dt.timedelta(days=7),
            reason="Hard to place",
            panel_date=today() + dt.timedelta(days=panel),
        )
    referral = PanelReferral.objects.get(case=decided)
    services.panel_decision_record(
        actor=SYSTEM,
        referral=referral,
        decision="school_named",
        decision_on=today(),
        named_school=school,
    )
    signed_in(client, make_user, Role.ADMISSIONS)
    body = client.get(reverse("provision:delays")).content.decode()
    agenda = body.split("Children waiting for the fair-access panel", 1)[1]
    assert agenda.index(sooner.reference) < agenda.index(later.reference)
    assert decided.reference not in agenda
    assert "Year 7" in agenda
    assert "Mainstream school" in agenda
    signed_in(client, make_user, Role.SLO)
    assert client.get(reverse("provision:delays")).status_code == 403
