"""The pages through Django's test client: signing in and out, home pages, headers, errors."""

from __future__ import annotations

import html

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import TEST_PASSWORD, AgencyFactory, SchoolFactory
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.models import ReferralRoute
from cmetrack.referrals.services import referral_record

pytestmark = pytest.mark.django_db

SIGN_IN = "/sign-in/"
SIGN_OUT = "/sign-out/"

#: The heading of each section a role sees on its home page (core.presenters.HomePresenter).
SECTION_TITLES = {
    "assign": "Cases waiting to be assigned",
    "open": "Your open cases",
    "slo": "SLO investigations",
    "in_care": "Children in care missing education",
    "referrals": "Your referrals",
    "audit": "Recent activity in the audit trail",
    "places": "Children waiting too long for a place",
}
ROLE_SECTIONS = {
    Role.SCHOOL_USER: {"referrals"},
    Role.AGENCY_USER: {"referrals"},
    Role.SLO: {"slo"},
    Role.CME_OFFICER: {"open"},
    Role.CME_MANAGER: {"assign", "open"},
    Role.VIRTUAL_SCHOOL: {"in_care"},
    Role.SAFEGUARDING_ADVISER: {"open"},
    Role.ADMINISTRATOR: set(),
    Role.AUDITOR: {"audit"},
    Role.ADMISSIONS: {"places"},
}


def text(response):
    return html.unescape(response.content.decode())


def heading(title: str) -> str:
    return f">{title}</h2>"


def test_every_role_has_an_expected_home_page():
    assert set(ROLE_SECTIONS) == set(Role)


# Signing in and out --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/children/1/"])
def test_anonymous_people_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"{SIGN_IN}?next={path}"


def test_sign_in_page(client):
    response = client.get(SIGN_IN)
    assert response.status_code == 200
    page = text(response)
    assert '<h1 class="govuk-heading-l">Sign in</h1>' in page
    assert "<title>Sign in – Children missing education" in page
    assert 'name="username"' in page
    assert 'name="password"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert "There is a problem" not in page


def test_sign_in_page_keeps_next(client):
    page = text(client.get(SIGN_IN, {"next": "/privacy/"}))
    assert '<input type="hidden" name="next" value="/privacy/">' in page


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("officer@example.org", "wrong-password-123"),
        ("nobody@example.org", TEST_PASSWORD),
        ("OFFICER@example.org ", "wrong-password-123"),
    ],
)
def test_failed_sign_in_is_shown_and_audited(client, make_user, email, password):
    make_user(Role.CME_OFFICER, email="officer@example.org")
    response = client.post(
        SIGN_IN, {"username": email, "password": password}, REMOTE_ADDR="198.51.100.23"
    )
    assert response.status_code == 200
    page = text(response)
    assert "There is a problem" in page
    assert "Enter a correct email address and password" in page
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action=AuditAction.SIGN_IN_FAILED)
    assert email.strip() in event.actor_label
    assert event.actor is None
    assert event.ip_address == "198.51.100.23"
    assert not AuditEvent.objects.filter(action=AuditAction.SIGN_IN).exists()


def test_inactive_user_cannot_sign_in(client, make_user):
    make_user(Role.CME_OFFICER, email="gone@example.org", is_active=False)
    response = client.post(SIGN_IN, {"username": "gone@example.org", "password": TEST_PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED).count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "", "password": ""}, "Enter your email address"),
        ({"username": "officer@example.org", "password": ""}, "Enter your password"),
        ({"username": "not-an-email", "password": "x"}, "Enter an email address in the correct"),
    ],
)
def test_sign_in_form_errors(client, db, data, message):
    response = client.post(SIGN_IN, data)
    assert response.status_code == 200
    page = text(response)
    assert "There is a problem" in page
    assert message in page
    assert "<title>Error: Sign in" in page


def test_successful_sign_in_is_audited_with_the_client_address(client, make_user):
    user = make_user(Role.CME_OFFICER, email="officer@example.org")
    response = client.post(
        SIGN_IN,
        {"username": "officer@example.org", "password": TEST_PASSWORD},
        REMOTE_ADDR="203.0.113.7",
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(user.pk)
    event = AuditEvent.objects.get(action=AuditAction.SIGN_IN)
    assert event.actor == user
    assert event.actor_label == "officer@example.org"
    assert event.ip_address == "203.0.113.7"
    assert event.object_type == "accounts.user"
    assert event.object_id == str(user.pk)
    assert not AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED).exists()


@pytest.mark.parametrize(
    ("next_url", "location"),
    [
        ("/privacy/", "/privacy/"),
        ("https://evil.example/steal", "/"),  # never off-site
        ("//evil.example/", "/"),
    ],
)
def test_sign_in_goes_to_next_only_on_this_site(client, make_user, next_url, location):
    make_user(Role.CME_OFFICER, email="officer@example.org")
    response = client.post(
        SIGN_IN,
        {"username": "officer@example.org", "password": TEST_PASSWORD, "next": next_url},
    )
    assert response.status_code == 302
    assert response["Location"] == location


def test_signed_in_people_skip_the_sign_in_page(client, make_user):
    client.force_login(make_user(Role.CME_OFFICER))
    response = client.get(SIGN_IN)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_sign_out_needs_post(client, make_user):
    user = make_user(Role.CME_OFFICER)
    client.force_login(user)
    assert client.get(SIGN_OUT).status_code == 405
    assert client.session["_auth_user_id"] == str(user.pk)  # still signed in
    assert not AuditEvent.objects.filter(action=AuditAction.SIGN_OUT).exists()


def test_sign_out_is_audited(client, make_user):
    user = make_user(Role.CME_OFFICER)
    client.force_login(user)
    response = client.post(SIGN_OUT, REMOTE_ADDR="192.0.2.44")
    assert response.status_code == 302
    assert response["Location"] == SIGN_IN
    event = AuditEvent.objects.get(action=AuditAction.SIGN_OUT)
    assert event.actor == user
    assert event.ip_address == "192.0.2.44"
    assert client.get("/").status_code == 302  # signed out


def test_sign_out_when_not_signed_in_writes_nothing(client, db):
    assert client.post(SIGN_OUT).status_code == 302
    assert not AuditEvent.objects.exists()


# Home pages ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_home_page_for_each_role(client, make_user, role):
    user = make_user(role, full_name="Riley Example", is_staff=role == Role.ADMINISTRATOR)
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    page = text(response)
    assert '<h1 class="govuk-heading-l">Your work today</h1>' in page
    assert f"Signed in as: {role.label}." in page
    assert "Riley Example" in page
    for key, title in SECTION_TITLES.items():
        if key in ROLE_SECTIONS[role]:
            assert heading(title) in page, title
        else:
            assert heading(title) not in page, title
    if ROLE_SECTIONS[role]:
        assert "There is nothing in your queue." not in page
    else:
        assert "There is nothing in your queue." in page
    is_admin = role == Role.ADMINISTRATOR
    assert ("Manage users, organisations and reference data" in page) is is_admin
    assert ('href="/admin/"' in page) is is_admin


def test_home_page_for_several_roles_shows_each_section(client, make_user):
    client.force_login(make_user(Role.SLO, Role.AUDITOR))
    page = text(client.get("/"))
    assert heading(SECTION_TITLES["slo"]) in page
    assert heading(SECTION_TITLES["audit"]) in page
    assert heading(SECTION_TITLES["open"]) not in page


def refer(school, given, family):
    return referral_record(
        actor=Actor.system("test"),
        route=ReferralRoute.SCHOOL,
        given_names=given,
        family_name=family,
        reason="Not attended for over ten school days.",
        school=school,
        referring_organisation=school,
    )


def test_a_school_sees_only_its_own_referrals(client, make_user):
    ours = SchoolFactory.create(name="Oakfield Primary School")
    theirs = SchoolFactory.create(name="Riverside Primary School")
    mine = [refer(ours, "Amelia", "Okonkwo"), refer(ours, "Tobias", "Lindqvist")]
    other = refer(theirs, "Zephyrine", "Quarrington")
    client.force_login(make_user(Role.SCHOOL_USER, organisation=ours))
    page = text(client.get("/"))
    assert "Amelia Okonkwo" in page
    assert "Tobias Lindqvist" in page
    for referral in mine:
        assert referral.reference in page
    assert "Zephyrine" not in page
    assert "Quarrington" not in page
    assert other.reference not in page
    assert "Your organisation has not made any referrals." not in page


def test_the_other_school_sees_only_its_referral(client, make_user):
    ours = SchoolFactory.create()
    theirs = SchoolFactory.create()
    refer(ours, "Amelia", "Okonkwo")
    refer(theirs, "Zephyrine", "Quarrington")
    client.force_login(make_user(Role.SCHOOL_USER, organisation=theirs))
    page = text(client.get("/"))
    assert "Zephyrine Quarrington" in page
    assert "Okonkwo" not in page


def test_an_agency_does_not_see_school_referrals(client, make_user):
    refer(SchoolFactory.create(), "Amelia", "Okonkwo")
    client.force_login(make_user(Role.AGENCY_USER, organisation=AgencyFactory.create()))
    page = text(client.get("/"))
    assert "Okonkwo" not in page
    assert "Your organisation has not made any referrals." in page


# Headers, static pages and errors ---------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/privacy/", "/accessibility/", "/api/v1/me"])
def test_signed_in_responses_are_not_cached(client, make_user, path):
    client.force_login(make_user(Role.CME_OFFICER))
    response = client.get(path)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp


@pytest.mark.parametrize("path", [SIGN_IN, "/privacy/", "/no-such-page/"])
def test_every_response_has_security_headers(client, db, path):
    response = client.get(path)
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("signed_in", [False, True])
def test_unknown_address_gives_the_page_not_found_page(client, make_user, signed_in):
    if signed_in:
        client.force_login(make_user(Role.CME_OFFICER))
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = text(response)
    assert '<h1 class="govuk-heading-l">Page not found</h1>' in page
    assert "<title>Page not found – Children missing education" in page
    assert "govuk-template" in page
    assert "If you typed the web address, check it is correct." in page
    if signed_in:
        assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("path", "title"),
    [("/accessibility/", "Accessibility statement"), ("/privacy/", "Privacy notice")],
)
def test_static_pages_are_public(client, db, path, title):
    response = client.get(path)
    assert response.status_code == 200
    page = text(response)
    assert f'<h1 class="govuk-heading-l">{title}</h1>' in page
    assert f"<title>{title} – Children missing education – Exampleshire County Council" in page
    assert f'href="{path}"' in page  # linked from the footer of every page
