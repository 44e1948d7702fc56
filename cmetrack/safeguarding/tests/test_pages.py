"""The safeguarding pages through Django's test client: what each shows, the forms with
their errors, the printable and PDF forms, and who sees nothing (404)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case
from cmetrack.casework.models import Task
from cmetrack.people.models import RestrictedAddressAccess
from cmetrack.people.tests.factories import AddressFactory
from cmetrack.safeguarding.models import DormantReview, RiskAssessment, VulnerabilityScreening
from cmetrack.safeguarding.rules import SCREENING_QUESTIONS, RiskFactor

from .factories import (
    authorised_assessment,
    dormant_case,
    open_case,
    record_assessment,
    record_screening,
    user,
)

pytestmark = pytest.mark.django_db


def client_for(u: Any) -> Client:
    c = Client()
    c.force_login(u)
    return c


def text(response: Any) -> str:
    return " ".join(response.content.decode().split())


def plain(response: Any) -> str:
    """The page's words, without tags (and with HTML's apostrophes back)."""
    words = re.sub(r"<[^>]+>", " ", response.content.decode()).replace("&#39;", "'")
    return " ".join(words.split())


def test_the_safeguarding_page_shows_the_emergency_route_and_the_screening(settings: Any) -> None:
    settings.CMETRACK_CHILDRENS_SOCIAL_CARE_PHONE = "01234 567890"
    officer = user(Role.CME_OFFICER)
    case = open_case(officer=officer)
    c = client_for(officer)
    page = text(c.get(f"/cases/{case.pk}/safeguarding/"))
    assert "call the police on 999" in page
    assert "Call children's social care on" in page
    assert '<a class="govuk-link" href="tel:01234567890">01234 567890</a>' in page
    assert "Not screened yet" in page
    record_screening(
        case, Actor(user=officer), missing_without_family="Alone", mobility="Moves often"
    )
    page = plain(c.get(f"/cases/{case.pk}/safeguarding/"))
    assert "Refer to the police" in page
    assert "Signs the family may avoid contact: History of mobility?" in page
    assert (
        AuditEvent.objects.filter(
            action="view", object_type="cases.case", object_id=str(case.pk)
        ).count()
        == 2
    )


def test_the_screening_form_shows_errors_and_saves_nothing() -> None:
    officer = user(Role.CME_OFFICER)
    case = open_case(officer=officer)
    c = client_for(officer)
    url = f"/cases/{case.pk}/safeguarding/screening/"
    assert "call the police on 999" in text(c.get(url))
    data = {q.key: "no" for q in SCREENING_QUESTIONS}
    data["cp_plan"] = "yes"
    del data["mobility"]
    response = c.post(url, data)
    assert response.status_code == 400
    page = text(response)
    assert "<title>Error: Vulnerability screening" in page
    assert "There is a problem" in page
    assert 'href="#id_mobility"' in page
    assert "Enter the details for “Subject of a child protection plan?”" in page
    assert not VulnerabilityScreening.objects.exists()
    data["mobility"] = "unknown"
    data["cp_plan_details"] = "Plan since May"
    response = c.post(url, data)
    assert response.status_code == 302
    assert Task.objects.get(case=case).title == "Inform children's social care immediately"


def test_the_screening_form_starts_from_the_childs_record() -> None:
    officer = user(Role.CME_OFFICER)
    case = open_case(officer=officer, in_care=True)
    page = client_for(officer).get(f"/cases/{case.pk}/safeguarding/screening/").content.decode()
    assert 'id="id_looked_after" name="looked_after" type="radio" value="yes" checked' in page


def _ra_data(**over: str) -> dict[str, str]:
    today = timezone.localdate()
    data = {
        "date_of_assessment-day": str(today.day),
        "date_of_assessment-month": str(today.month),
        "date_of_assessment-year": str(today.year),
        "summary": "Not found after every check.",
        "risk_level": "medium",
        "sent_to": "police_mpc",
    }
    data.update({f"factor_{f.value}": "no" for f in RiskFactor})
    data.update(over)
    return data


def test_risk_assessment_form_then_authorisation_by_another_manager() -> None:
    officer, manager = user(Role.CME_OFFICER), user(Role.CME_MANAGER, full_name="Mia Manager")
    case = open_case(officer=officer)
    AddressFactory.create(child=case.child, line1="1 Secret Row", is_restricted=True)
    c = client_for(officer)
    url = f"/cases/{case.pk}/safeguarding/risk-assessments/new/"
    page = text(c.get(url))
    assert "Restricted" in page
    assert "1 Secret Row" not in page
    response = c.post(url, _ra_data(factor_4="yes"))
    assert response.status_code == 400
    assert "Enter the supporting information for" in text(response)
    assert 'href="#id_factor_4_details"' in text(response)
    assert not RiskAssessment.objects.exists()
    response = c.post(url, _ra_data(factor_4="yes", factor_4_details="Police report 2025"))
    ra = RiskAssessment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.pk}/safeguarding/risk-assessments/{ra.pk}/"
    detail = text(c.get(response["Location"]))
    assert "Waiting for authorisation" in detail
    assert "Authorise this risk assessment" not in detail  # an officer cannot

    m = client_for(manager)
    detail = text(m.get(response["Location"]))
    assert "Authorise this risk assessment" in detail
    assert "Restricted" in detail
    assert "1 Secret Row" not in detail
    # Someone a manager has named for this child sees the address.
    RestrictedAddressAccess.objects.create(
        child=case.child, user=manager, granted_by=manager, reason="Authorising"
    )
    assert "1 Secret Row" in text(m.get(response["Location"]))
    response = m.post(f"{response['Location']}authorise/")
    assert response.status_code == 302
    ra.refresh_from_db()
    assert ra.authorised_by == manager
    assert Task.objects.filter(case=case, owner=officer).count() == 4


def test_a_manager_cannot_authorise_their_own_assessment() -> None:
    manager = user(Role.CME_MANAGER)
    case = open_case()
    ra = record_assessment(case, manager, "high")
    c = client_for(manager)
    url = f"/cases/{case.pk}/safeguarding/risk-assessments/{ra.pk}/"
    page = text(c.get(url))
    assert "another CME manager must authorise it" in page
    assert "Authorise this risk assessment" not in page
    response = c.post(f"{url}authorise/")
    assert response.status_code == 400
    assert "Error: Risk assessment" in text(response)
    assert "you cannot authorise it" in text(response)
    ra.refresh_from_db()
    assert not ra.is_authorised


@pytest.mark.pdf
def test_printable_and_pdf_versions() -> None:
    officer, manager = user(Role.CME_OFFICER), user(Role.CME_MANAGER, full_name="Mia Manager")
    case = open_case(officer=officer)
    ra = authorised_assessment(case, officer=officer, manager=manager, level="medium")
    c = client_for(officer)
    base = f"/cases/{case.pk}/safeguarding/risk-assessments/{ra.pk}/"
    page = text(c.get(f"{base}print/"))
    assert "Children missing education: risk assessment" in page
    assert "Authorised by (CME manager)</th><td>Mia Manager" in page
    assert page.count('<td class="num">') == 15
    response = c.get(f"{base}pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="export", object_id=str(case.pk)).exists()


def test_make_dormant_and_review_pages() -> None:
    officer, manager = user(Role.CME_OFFICER), user(Role.CME_MANAGER)
    case = open_case(officer=officer)
    c = client_for(officer)
    # Without an authorised assessment the page refuses with the rule.
    response = c.post(f"/cases/{case.pk}/safeguarding/dormant/", {"reason": ""})
    assert response.status_code == 400
    assert "record and authorise a risk assessment first" in text(response)
    authorised_assessment(case, officer=officer, manager=manager)
    assert "Make the case dormant" in text(c.get(f"/cases/{case.pk}/safeguarding/"))
    response = c.post(f"/cases/{case.pk}/safeguarding/dormant/", {"reason": "Every avenue tried"})
    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).state == CaseState.DORMANT
    page = text(c.get(f"/cases/{case.pk}/safeguarding/"))
    assert "Next review due on" in page

    url = f"/cases/{case.pk}/safeguarding/reviews/new/"
    assert "This review was due on" in text(c.get(url))
    response = c.post(url, {"checked": "", "result": "No trace"})
    assert response.status_code == 400
    assert "Enter what you checked" in text(response)
    today = timezone.localdate()
    response = c.post(url, {
        "reviewed_on-day": today.day, "reviewed_on-month": today.month,
        "reviewed_on-year": today.year, "checked": "GP", "result": "No trace",
        "risk_level_holds": "yes", "next_step": "stay_dormant",
    })  # fmt: skip
    assert response.status_code == 302
    assert DormantReview.objects.get(case=case).by == officer


def test_the_review_queue_page() -> None:
    officer = user(Role.CME_OFFICER)
    case = dormant_case(officer)
    from cmetrack.cases.models import CaseStateChange

    CaseStateChange.objects.filter(case=case, to_state="dormant").update(
        at=timezone.now() - dt.timedelta(days=40)
    )
    page = text(client_for(officer).get("/dormant-reviews/"))
    assert "Overdue (1)" in page
    assert case.reference in page
    assert client_for(user(Role.SLO)).get("/dormant-reviews/").status_code == 404


def test_a_child_in_care_shows_the_virtual_school_and_the_off_roll_rule() -> None:
    officer, vs = user(Role.CME_OFFICER), user(Role.VIRTUAL_SCHOOL, full_name="Vera School")
    case = open_case(officer=officer, in_care=True)
    c = client_for(officer)
    page = text(c.get(f"/cases/{case.pk}/safeguarding/"))
    assert "Do not take this child off roll until a new school has admitted them" in page
    assert "Tell the Virtual School" in page
    assert c.post(f"/cases/{case.pk}/safeguarding/virtual-school/").status_code == 302
    page = text(c.get(f"/cases/{case.pk}/safeguarding/"))
    assert "Virtual School: Vera School" in page
    # The Virtual School officer sees the case's safeguarding too.
    assert client_for(vs).get(f"/cases/{case.pk}/safeguarding/").status_code == 200


ALL_PAGES = [
    "/cases/{case}/safeguarding/",
    "/cases/{case}/safeguarding/screening/",
    "/cases/{case}/safeguarding/risk-assessments/new/",
    "/cases/{case}/safeguarding/risk-assessments/{ra}/",
    "/cases/{case}/safeguarding/risk-assessments/{ra}/print/",
    "/cases/{case}/safeguarding/risk-assessments/{ra}/pdf/",
    "/cases/{case}/safeguarding/reviews/new/",
]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        # Read: 200; may not act: 403; sees nothing: 404.
        (Role.CME_OFFICER, [200, 200, 200, 200, 200, 200, 200]),
        (Role.CME_MANAGER, [200, 200, 200, 200, 200, 200, 200]),
        (Role.VIRTUAL_SCHOOL, [200, 200, 403, 200, 200, 200, 403]),  # child in care
        (Role.SLO, [404] * 7),  # not their school's or their case
        (Role.SAFEGUARDING_ADVISER, [404] * 7),  # not assigned to them
        (Role.SCHOOL_USER, [404] * 7),
        (Role.AGENCY_USER, [404] * 7),
        (Role.AUDITOR, [404] * 7),
        (Role.ADMINISTRATOR, [404] * 7),
    ],
)
def test_who_sees_safeguarding(role: Role, expected: list[int]) -> None:
    officer, manager = user(Role.CME_OFFICER), user(Role.CME_MANAGER)
    case = dormant_case(officer, in_care=True)
    ra = authorised_assessment(case, officer=officer, manager=manager)
    c = client_for(user(role))
    got = [c.get(p.format(case=case.pk, ra=ra.pk)).status_code for p in ALL_PAGES]
    assert got == expected
    if expected[0] == 404:
        assert not AuditEvent.objects.filter(action="view", object_id=str(case.pk)).exists()


def test_an_adviser_assigned_to_the_case_reads_but_does_not_assess() -> None:
    adviser = user(Role.SAFEGUARDING_ADVISER)
    case = open_case(officer=adviser)
    c = client_for(adviser)
    assert c.get(f"/cases/{case.pk}/safeguarding/").status_code == 200
    assert c.get(f"/cases/{case.pk}/safeguarding/risk-assessments/new/").status_code == 403
