"""The front door's pages through Django's test client: who may open what, the school's
journey, the agency form, triage, and what a referrer sees."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import AgencyFactory, SchoolFactory
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import ReferralRoute
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.referrals.models import CheckKind, Referral, ReferralStatus
from cmetrack.referrals.services import referral_record, referral_triage
from cmetrack.referrals.tests.factories import RollEntryFactory, RollSnapshotFactory
from cmetrack.referrals.tests.journey import send

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    return str(html.unescape(response.content.decode()))


def school_post(**overrides: str) -> dict[str, str]:
    data = {
        "given_names": "Ola",
        "family_name": "Kowalska",
        "aliases": "",
        "dob-day": "14",
        "dob-month": "3",
        "dob-year": "2015",
        "sex": "F",
        "gender": "",
        "upn": "H801200001001",
        "address": "12 Station Road",
        "postcode": "EX1 4QT",
        "parent1_name": "Maria Kowalska",
        "parent1_relationship": "mother",
        "parent1_phone": "07700 900123",
        "parent1_email": "",
        "date_last_attendance-day": "30",
        "date_last_attendance-month": "10",
        "date_last_attendance-year": "2026",
        "absence_school_days": "12",
        "safeguarding_concern": "no",
        "reason": "Not attended since 30 October.",
    }
    for kind in CheckKind:
        data[f"{kind}-status"] = "done"
        data[f"{kind}-done_on-day"] = "2"
        data[f"{kind}-done_on-month"] = "11"
        data[f"{kind}-done_on-year"] = "2026"
        data[f"{kind}-result"] = "No answer"
    data.update(overrides)
    return data


@pytest.fixture
def school_user(make_user: Any) -> Any:
    return make_user(Role.SCHOOL_USER, organisation=SchoolFactory.create())


@pytest.fixture
def entry(school_user: Any) -> Any:
    return RollEntryFactory.create(
        snapshot=RollSnapshotFactory.create(school=school_user.organisation)
    )


# --- who may open what ---------------------------------------------------------------------

PAGES = ["/referrals/", "/referrals/school/", "/referrals/agency/", "/referrals/triage/"]
# The pages each role may open (others: 403).
ALLOWED = {
    Role.SCHOOL_USER: {"/referrals/", "/referrals/school/"},
    Role.AGENCY_USER: {"/referrals/", "/referrals/agency/"},
    Role.SLO: {"/referrals/", "/referrals/triage/"},
    Role.CME_OFFICER: {"/referrals/", "/referrals/triage/"},
    Role.CME_MANAGER: {"/referrals/", "/referrals/triage/"},
    Role.VIRTUAL_SCHOOL: set(),
    Role.SAFEGUARDING_ADVISER: set(),
    Role.ADMINISTRATOR: set(),
    Role.AUDITOR: set(),
    Role.ADMISSIONS: set(),
}


@pytest.mark.parametrize("role", list(Role))
def test_who_may_open_each_page(client: Client, make_user: Any, role: Role) -> None:
    client.force_login(make_user(role))
    for path in PAGES:
        status = client.get(path).status_code
        assert status == (200 if path in ALLOWED[role] else 403), (role, path, status)


@pytest.mark.parametrize("path", [*PAGES, "/referrals/R-AAAAAAAA/"])
def test_signed_out_people_are_sent_to_sign_in(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/?next=")


def test_navigation_links(client: Client, make_user: Any) -> None:
    client.force_login(make_user(Role.SCHOOL_USER, organisation=SchoolFactory.create()))
    assert 'href="/referrals/"' in text(client.get("/"))
    client.force_login(make_user(Role.CME_OFFICER))
    assert 'href="/referrals/triage/"' in text(client.get("/"))


# --- the school's journey ------------------------------------------------------------------


def test_the_school_searches_only_its_own_roll(
    client: Client, school_user: Any, entry: Any
) -> None:
    other = RollEntryFactory.create(
        snapshot=RollSnapshotFactory.create(),
        legal_given_name="Zephyr",
        legal_family_name="Kowalska",
        upn="B801200005001",
    )
    client.force_login(school_user)
    page = text(client.get("/referrals/school/", {"q": "kowalska"}))
    assert f"/referrals/school/pupil/{entry.pk}/" in page
    assert "Zephyr" not in page
    page = text(client.get("/referrals/school/", {"q": "B801200005001"}))
    assert "No pupil on your roll matches" in page
    assert client.get(f"/referrals/school/pupil/{other.pk}/").status_code == 404


def test_the_form_is_prefilled_from_the_roll(client: Client, school_user: Any, entry: Any) -> None:
    client.force_login(school_user)
    page = text(client.get(f"/referrals/school/pupil/{entry.pk}/"))
    assert re.search(r'name="given_names"[^>]*value="Ola"', page)
    assert 'name="dob-year" type="text" value="2015"' in page
    assert "H801200001001" in page
    assert "10 or more school days" in page  # the rule is explained


def test_a_school_refers_and_sees_the_reference(
    client: Client, school_user: Any, entry: Any
) -> None:
    client.force_login(school_user)
    response = send(client, f"/referrals/school/pupil/{entry.pk}/", school_post())
    referral = Referral.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/referrals/{referral.reference}/sent/"
    page = text(client.get(response["Location"]))
    assert "Referral sent" in page
    assert referral.reference in page
    # The panel's markup is markup, not text (it once showed "Your reference<br><strong>").
    assert f"Your reference<br><strong>{referral.reference}</strong>" in page
    assert "&lt;br&gt;" not in page
    assert "Do not remove this pupil from your roll" in page


@pytest.mark.parametrize(
    ("overrides", "messages"),
    [
        ({"given_names": ""}, ["Enter the child's first name"]),
        ({"dob-month": ""}, ["Date of birth must include a month"]),
        ({"dob-day": "31", "dob-month": "2"}, ["Date of birth must be a real date"]),
        (
            {"absence_school_days": "ten"},
            ["School days of absence must be a whole number, like 12"],
        ),
        (
            {"parent1_name": "", "parent1_relationship": ""},
            [
                "Enter the full name of parent or carer 1",
                "Select the relationship of parent or carer 1 to the child",
            ],
        ),
        (
            {"parent1_email": "not-an-email"},
            ["Enter an email address in the correct format, like name@example.org"],
        ),
        ({"safeguarding_concern": "yes"}, ["Describe the safeguarding concern"]),
        (
            {"telephoned-status": ""},
            [
                "Select whether “telephoned every contact number for parents, carers and "
                "family” was done, not possible or not applicable"
            ],
        ),
        (
            {"friends-status": "not_possible"},
            ["Say why “spoke to the child's friends” was not possible"],
        ),
        ({"upn": "A123456789001"}, ["Enter a real UPN"]),
        (
            {"family_name": "Kowalska😀"},
            ["The child's last name must only include letters, spaces, hyphens and apostrophes"],
        ),
        (
            {"parent1_phone": "07700 900123📞"},
            [
                "Enter the phone number of parent or carer 1 using numbers, like 01632 960 001 "
                "or +44 7700 900 982"
            ],
        ),
        ({"given_names": "0la"}, ["The child's first name must not include numbers"]),
        ({"absence_school_days": "4"}, ["The child has been absent for fewer than 10 school days"]),
    ],
)
def test_school_form_errors(
    client: Client, school_user: Any, entry: Any, overrides: dict[str, str], messages: list[str]
) -> None:
    client.force_login(school_user)
    response = client.post(f"/referrals/school/pupil/{entry.pk}/", school_post(**overrides))
    assert response.status_code == 200
    page = text(response)
    assert "<title>Error: Refer Ola Kowalska" in page
    summary = page[
        page.index("govuk-error-summary") : page.index("</ul>", page.index("govuk-error-summary"))
    ]
    for message in messages:
        assert message in summary
    assert not Referral.objects.exists()


def test_under_ten_days_with_every_check_complete_is_accepted(
    client: Client, school_user: Any, entry: Any
) -> None:
    client.force_login(school_user)
    data = school_post(absence_school_days="4", all_checks_complete="on")
    assert send(client, f"/referrals/school/pupil/{entry.pk}/", data).status_code == 302
    assert Referral.objects.get().all_checks_complete


# --- the agency ------------------------------------------------------------------------------


def test_an_agency_refers(client: Client, make_user: Any) -> None:
    user = make_user(Role.AGENCY_USER, organisation=AgencyFactory.create())
    client.force_login(user)
    response = send(
        client,
        "/referrals/agency/",
        {
            "given_names": "Jakub",
            "sex": "M",
            "situation": "whereabouts_unknown",
            "how_met": "Health visit",
            "reason": "Family left the refuge",
            "safeguarding_concern": "unknown",
            "approximate_age": "9",
        },
    )
    referral = Referral.objects.get()
    assert response["Location"] == f"/referrals/{referral.reference}/sent/"
    assert referral.referring_organisation == user.organisation


def test_agency_form_errors(client: Client, make_user: Any) -> None:
    client.force_login(make_user(Role.AGENCY_USER, organisation=AgencyFactory.create()))
    page = text(client.post("/referrals/agency/", {"approximate_age": "40"}))
    for message in [
        "Enter the child's first name",
        "Approximate age must be 19 or less",
        "Select the child's sex",
        "Select whether the child is not on a school roll or their whereabouts are not known",
        "Say how your agency met the child",
        "Say what you know about the child",
        "Select whether there is a safeguarding concern about the child",
    ]:
        assert message in page
    assert 'href="#id_given_names"' in page
    assert 'href="#id_situation"' in page


# --- what a referrer sees ----------------------------------------------------------------


def test_a_school_sees_status_and_roll_advice_never_notes(
    client: Client, school_user: Any, make_user: Any
) -> None:
    school = school_user.organisation
    referral = referral_record(
        actor=Actor.system("t"),
        route=ReferralRoute.SCHOOL,
        given_names="Ola",
        family_name="Kowalska",
        reason="Absent",
        school=school,
        referring_organisation=school,
        dob=dt.date(2015, 3, 14),
    )
    other = referral_record(
        actor=Actor.system("t"),
        route=ReferralRoute.SCHOOL,
        given_names="Zephyr",
        family_name="Quill",
        reason="Absent",
        school=SchoolFactory.create(),
    )
    client.force_login(school_user)
    page = text(client.get("/referrals/"))
    assert referral.reference in page
    assert other.reference not in page
    assert "Received: waiting to be checked by the CME team" in page
    assert "Do not remove the child from roll" in page
    officer = make_user(Role.CME_OFFICER)
    referral_triage(actor=Actor(user=officer), referral=referral)
    page = text(client.get(f"/referrals/{referral.reference}/"))
    assert "School Liaison Officer investigating" in page
    assert "Do not remove the child from roll" in page
    assert "CME-" not in page  # the case itself is not the school's to see
    assert client.get(f"/referrals/{other.reference}/").status_code == 404
    referral.refresh_from_db()
    case = referral.case
    if hasattr(case, "advised_off_roll_date"):
        case.advised_off_roll_date = dt.date(2026, 11, 20)  # type: ignore[union-attr]
        case.save()  # type: ignore[union-attr]
        page = text(client.get("/referrals/"))
        assert "You may remove the child from roll from 20 November 2026" in page


# --- triage pages ---------------------------------------------------------------------------


def test_triage_queue_newest_first_and_filtered(client: Client, make_user: Any) -> None:
    refs = [
        referral_record(
            actor=Actor.system("t"), route=route, given_names=name, family_name="X", reason="r"
        )
        for route, name in [(ReferralRoute.PUBLIC, "Anna"), (ReferralRoute.AGENCY, "Bea")]
    ]
    client.force_login(make_user(Role.CME_OFFICER))
    page = text(client.get("/referrals/triage/"))
    assert page.index(refs[1].reference) < page.index(refs[0].reference)
    page = text(client.get("/referrals/triage/", {"route": "public"}))
    assert refs[0].reference in page
    assert refs[1].reference not in page


def test_triage_page_states_school_age_and_duplicates(client: Client, make_user: Any) -> None:
    ChildFactory.create(
        legal_given_names="Ola",
        legal_family_name="Kowalska",
        dob=dt.date(2015, 3, 14),
        upn="H801200001001",
    )
    referral = referral_record(
        actor=Actor.system("t"),
        route=ReferralRoute.AGENCY,
        given_names="Ola",
        family_name="Kowalska",
        reason="r",
        dob=dt.date(2015, 3, 14),
    )
    client.force_login(make_user(Role.CME_OFFICER))
    page = text(client.get(f"/referrals/{referral.reference}/triage/"))
    assert "Of compulsory school age on" in page
    assert "Given name matches; Surname matches" in page
    assert "Date of birth matches" in page


def test_triage_into_tracking_through_the_page(client: Client, make_user: Any) -> None:
    referral = referral_record(
        actor=Actor.system("t"),
        route=ReferralRoute.PUBLIC,
        given_names="Ola",
        family_name="Kowalska",
        reason="r",
        dob=dt.date(2015, 3, 14),
    )
    client.force_login(make_user(Role.CME_OFFICER))
    response = client.post(
        f"/referrals/{referral.reference}/triage/", {"decision": "open", "child": "new"}
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.case is not None
    assert referral.case.state == CaseState.TRACKING
    # Triaged already: the triage page sends you to the referral.
    assert client.get(f"/referrals/{referral.reference}/triage/").status_code == 302


def test_triage_form_errors(client: Client, make_user: Any) -> None:
    referral = referral_record(
        actor=Actor.system("t"),
        route=ReferralRoute.PUBLIC,
        given_names="Ola",
        family_name="",
        reason="r",
    )
    client.force_login(make_user(Role.CME_OFFICER))
    url = f"/referrals/{referral.reference}/triage/"
    page = text(client.post(url, {}))
    assert "Select what happens to this referral" in page
    page = text(client.post(url, {"decision": "not_school_age", "child": "new"}))
    assert "Say why the child is not children missing education" in page
    page = text(client.post(url, {"decision": "open", "child": "new"}))
    assert "Enter the child&#39;s last name" in page or "Enter the child's last name" in page
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.RECEIVED


def test_triage_out_of_scope_is_404_and_wrong_role_403(client: Client, make_user: Any) -> None:
    school = SchoolFactory.create()
    referral = referral_record(
        actor=Actor.system("t"),
        route=ReferralRoute.SCHOOL,
        given_names="Ola",
        family_name="K",
        reason="r",
        school=school,
    )
    slo = make_user(Role.SLO)
    client.force_login(slo)
    assert client.get(f"/referrals/{referral.reference}/triage/").status_code == 404
    slo.linked_schools.set([school])
    assert client.get(f"/referrals/{referral.reference}/triage/").status_code == 200
    client.force_login(make_user(Role.SCHOOL_USER, organisation=school))
    assert client.get(f"/referrals/{referral.reference}/triage/").status_code == 403
    assert re.search(r"R-[A-Z0-9]{8}", referral.reference)


# --- list pages do not query per row ------------------------------------------------------


def _referrals(n: int, school: Any, officer: Any) -> None:
    for i in range(n):
        r = referral_record(
            actor=Actor.system("t"),
            route=ReferralRoute.SCHOOL,
            given_names=f"Child{i}",
            family_name="Reed",
            reason="r",
            school=school,
            referring_organisation=school,
        )
        if i % 2:
            referral_triage(actor=Actor(user=officer), referral=r)


@pytest.mark.parametrize("path", ["/referrals/", "/referrals/triage/"])
def test_list_pages_make_the_same_queries_for_4_or_34_rows(
    client: Client, make_user: Any, path: str
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    school = SchoolFactory.create()
    officer = make_user(Role.CME_OFFICER)
    viewer = make_user(Role.SCHOOL_USER, organisation=school) if path == "/referrals/" else officer
    client.force_login(viewer)
    _referrals(4, school, officer)
    client.get(path)  # a first request also loads the session's bookkeeping
    with CaptureQueriesContext(connection) as few:
        assert client.get(path).status_code == 200
    _referrals(30, school, officer)
    with CaptureQueriesContext(connection) as many:
        assert client.get(path).status_code == 200
    assert len(many) == len(few)


def test_the_team_sees_a_link_to_the_case(client: Client, make_user: Any) -> None:
    referral = referral_record(
        actor=Actor.system("t"), route=ReferralRoute.AGENCY, given_names="Ola",
        family_name="Kowalska", reason="r",
    )  # fmt: skip
    officer = make_user(Role.CME_OFFICER)
    referral_triage(actor=Actor(user=officer), referral=referral)
    referral.refresh_from_db()
    client.force_login(officer)
    page = text(client.get(f"/referrals/{referral.reference}/"))
    assert referral.case is not None
    assert f'href="/cases/{referral.case.pk}/">{referral.case.reference}</a>' in page


def test_duplicates_shown_at_triage_are_audited_and_scoped(client: Client, make_user: Any) -> None:
    from cmetrack.audit.models import AuditEvent

    school = SchoolFactory.create()
    known = ChildFactory.create(
        legal_given_names="Ola", legal_family_name="Kowalska", dob=dt.date(2015, 3, 14)
    )
    referral = referral_record(
        actor=Actor.system("t"), route=ReferralRoute.SCHOOL, given_names="Ola",
        family_name="Kowalska", reason="r", dob=dt.date(2015, 3, 14), school=school,
    )  # fmt: skip
    url = f"/referrals/{referral.reference}/triage/"
    slo = make_user(Role.SLO)
    slo.linked_schools.set([school])
    client.force_login(slo)
    page = text(client.get(url))
    assert "may also match a child record you cannot see" in page
    assert (
        known.legal_family_name not in page.split("Possible duplicates")[1].split("The referral")[0]
    )
    assert not AuditEvent.objects.filter(child_id=known.pk, action="view").exists()
    officer = make_user(Role.CME_OFFICER)
    client.force_login(officer)
    page = text(client.get(url))
    assert "Given name matches; Surname matches" in page
    event = AuditEvent.objects.get(child_id=known.pk, action="view")
    assert event.actor == officer
    assert referral.reference in event.summary


@pytest.mark.parametrize(
    ("family", "parent"), [("Ó Súilleabháin", "Siân ap Gwilym"), ("O'Brien", "Ní Bhriain")]
)
def test_welsh_and_irish_names_and_apostrophes_are_accepted(
    client: Client, school_user: Any, entry: Any, family: str, parent: str
) -> None:
    client.force_login(school_user)
    response = send(
        client,
        f"/referrals/school/pupil/{entry.pk}/",
        school_post(family_name=family, parent1_name=parent),
    )
    assert response.status_code == 302
    referral = Referral.objects.get()
    assert referral.family_name == family
