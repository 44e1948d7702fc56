"""Accounts security: two-factor, lockout, idle timeout, password rules, deactivation."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from cmetrack.accounts.models import ApiToken, User
from cmetrack.accounts.roles import Role
from cmetrack.accounts.services import api_token_create, user_deactivate
from cmetrack.accounts.tests.factories import TEST_PASSWORD, AgencyFactory, SchoolFactory
from cmetrack.accounts.two_factor import two_factor_required
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.core.middleware import LAST_SEEN_KEY

pytestmark = pytest.mark.django_db
SIGN_IN = "/sign-in/"
SET_UP = "/account/two-factor/set-up/"
VERIFY = "/account/two-factor/verify/"
LA_STAFF = [r for r in Role if r not in (Role.SCHOOL_USER, Role.AGENCY_USER)]


def code_for(device: TOTPDevice) -> str:
    """The code the authenticator app shows now."""
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{code:06d}"


def user_for(role, make_user):
    if role == Role.SCHOOL_USER:
        return make_user(role, organisation=SchoolFactory.create())
    if role == Role.AGENCY_USER:
        return make_user(role, organisation=AgencyFactory.create())
    return make_user(role)


@pytest.fixture
def two_factor_on(settings):
    settings.CMETRACK_REQUIRE_2FA = True


def sign_in(client, user):
    response = client.post(SIGN_IN, {"username": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return response


# Two-factor --------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_who_must_use_two_factor(make_user, role):
    user = user_for(role, make_user)
    assert two_factor_required(user) is (role in LA_STAFF)


def test_optional_roles_are_a_setting(make_user, settings):
    user = user_for(Role.SCHOOL_USER, make_user)
    settings.CMETRACK_2FA_OPTIONAL_ROLES = []
    assert two_factor_required(user)


@pytest.mark.usefixtures("two_factor_on")
@pytest.mark.parametrize("role", LA_STAFF, ids=[r.value for r in LA_STAFF])
def test_staff_are_sent_to_set_up_and_cannot_reach_pages_or_the_api(client, make_user, role):
    user = user_for(role, make_user)
    sign_in(client, user)
    for path in ("/", "/children/1/", "/audit/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith(SET_UP), path
    assert client.get("/api/v1/me").status_code == 401


@pytest.mark.usefixtures("two_factor_on")
def test_set_up_shows_an_inline_qr_code_and_confirms_with_a_code(client, make_user):
    user = make_user(Role.CME_OFFICER)
    sign_in(client, user)
    page = client.get(SET_UP + "?next=/privacy/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "<svg" in text
    assert 'role="img"' in text
    assert "otpauth" not in text  # the secret is in the QR code and typed key only
    assert "<script" not in text.split("</main>")[0].split("<main")[1]
    device = TOTPDevice.objects.get(user=user, confirmed=False)

    wrong = client.post(SET_UP, {"code": "000000", "next": "/privacy/"})
    assert wrong.status_code == 200
    assert "There is a problem" in wrong.content.decode()
    assert "Error: Set up two-factor" in wrong.content.decode()
    device.refresh_from_db()
    device.throttle_reset()  # django-otp delays the next try after a wrong code

    response = client.post(SET_UP, {"code": code_for(device), "next": "/privacy/"})
    assert response.status_code == 302
    assert response["Location"] == "/privacy/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    assert AuditEvent.objects.filter(
        actor=user, summary="Set up two-factor authentication"
    ).exists()


@pytest.mark.usefixtures("two_factor_on")
def test_next_sign_in_asks_for_a_code_and_records_a_wrong_one(client, make_user):
    user = make_user(Role.CME_MANAGER)
    device = TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    sign_in(client, user)
    response = client.get("/")
    assert response["Location"].startswith(VERIFY)

    wrong = client.post(VERIFY, {"code": "12345", "next": "/"})
    assert "The security code must be 6 digits" in wrong.content.decode()
    wrong = client.post(VERIFY, {"code": "000000", "next": "/"})
    assert "The security code is wrong" in wrong.content.decode()
    failed = AuditEvent.objects.get(action=AuditAction.SIGN_IN_FAILED)
    assert failed.actor_id == user.pk
    assert failed.summary == "Wrong two-factor security code"
    assert client.get("/").status_code == 302

    device.refresh_from_db()
    device.throttle_reset()  # django-otp delays the next try after a wrong code
    ok = client.post(VERIFY, {"code": code_for(device), "next": "https://evil.example/"})
    assert ok.status_code == 302
    assert ok["Location"] == "/"  # never an open redirect
    assert client.get("/").status_code == 200


@pytest.mark.usefixtures("two_factor_on")
def test_a_password_alone_cannot_enrol_a_new_device(client, make_user):
    user = make_user(Role.CME_OFFICER)
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    sign_in(client, user)
    response = client.get(SET_UP)
    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)
    response = client.post(SET_UP, {"code": "123456"})
    assert response["Location"].startswith(VERIFY)
    assert TOTPDevice.objects.filter(user=user).count() == 1
    assert client.get("/")["Location"].startswith(VERIFY)


@pytest.mark.usefixtures("two_factor_on")
def test_school_user_without_a_device_is_not_asked(client, make_user):
    user = user_for(Role.SCHOOL_USER, make_user)
    sign_in(client, user)
    assert client.get("/").status_code == 200


@pytest.mark.usefixtures("two_factor_on")
def test_school_user_who_set_up_a_device_must_use_it(client, make_user):
    user = user_for(Role.SCHOOL_USER, make_user)
    TOTPDevice.objects.create(user=user, name="app", confirmed=True)
    sign_in(client, user)
    assert client.get("/")["Location"].startswith(VERIFY)


def test_two_factor_off_in_tests_lets_force_login_through(client, make_user):
    client.force_login(make_user(Role.CME_OFFICER))
    assert client.get("/").status_code == 200


@pytest.mark.usefixtures("two_factor_on")
def test_bearer_tokens_are_not_affected(client, make_user):
    service = make_user(Role.CME_OFFICER, is_service_account=True)
    _, raw = api_token_create(actor=Actor.system("test"), user=service, name="sync")
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200


# Lockout ------------------------------------------------------------------------------


@pytest.fixture
def axes_on(settings):
    settings.AXES_ENABLED = True


@pytest.mark.usefixtures("axes_on")
def test_lockout_after_five_failures_per_username_and_address(client, make_user):
    user = make_user(Role.CME_OFFICER, email="officer@example.org")
    for _ in range(4):
        response = client.post(
            SIGN_IN, {"username": "Officer@example.org", "password": "wrong-password-1"},
            REMOTE_ADDR="198.51.100.7",
        )  # fmt: skip
        assert response.status_code == 200
    fifth = client.post(
        SIGN_IN, {"username": user.email, "password": "wrong-password-1"},
        REMOTE_ADDR="198.51.100.7",
    )  # fmt: skip
    assert fifth.status_code == 429
    assert "Sign-in locked" in fifth.content.decode()
    assert "30 minutes" in fifth.content.decode()
    # Now even the right password is refused from that address ...
    locked = client.post(
        SIGN_IN, {"username": user.email, "password": TEST_PASSWORD}, REMOTE_ADDR="198.51.100.7"
    )
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    # ... and every attempt, including the locked ones, is in the audit trail.
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_IN_FAILED).count() == 6
    # A forged X-Forwarded-For does not get round it.
    forged = client.post(
        SIGN_IN, {"username": user.email, "password": TEST_PASSWORD},
        REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.9",
    )  # fmt: skip
    assert forged.status_code == 429
    # The same person from another address is not locked out.
    other = client.post(
        SIGN_IN, {"username": user.email, "password": TEST_PASSWORD}, REMOTE_ADDR="198.51.100.8"
    )
    assert other.status_code == 302


# Idle timeout -------------------------------------------------------------------------


def test_idle_session_is_signed_out(client, make_user, settings):
    settings.CMETRACK_SESSION_IDLE_MINUTES = 30
    user = make_user(Role.CME_OFFICER)
    client.force_login(user)
    assert client.get("/").status_code == 200
    session = client.session
    assert isinstance(session[LAST_SEEN_KEY], int)
    session[LAST_SEEN_KEY] = int(time.time()) - 29 * 60
    session.save()
    assert client.get("/").status_code == 200  # 29 minutes: still signed in
    session = client.session
    session[LAST_SEEN_KEY] = int(time.time()) - 31 * 60
    session.save()
    response = client.get("/privacy/")
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in/?next=%2Fprivacy%2F&timed_out=1")
    assert "_auth_user_id" not in client.session
    page = client.get(response["Location"]).content.decode()
    assert "You were signed out because you had not used the service for 30 minutes" in page
    assert AuditEvent.objects.filter(action=AuditAction.SIGN_OUT, actor=user).exists()


# Passwords ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("short-pass", False),  # under 12
        ("a" * 11 + "b", True),  # no composition rules: only length and lists
        ("correct horse battery staple", True),
        ("password12345", False),  # Django's common list / our breached list
        ("Welcome2025!", False),  # our shipped breached list, case-insensitive
        ("Safeguarding123", False),
        ("x" * 129, False),  # too long
        ("long passphrase " * 8, True),  # 128 characters
    ],
)
def test_password_rules(password, ok):
    if ok:
        validate_password(password)
    else:
        with pytest.raises(ValidationError):
            validate_password(password)


# Deactivation ---------------------------------------------------------------------------


def test_deactivation_keeps_the_user_and_revokes_tokens(make_user, client):
    admin = make_user(Role.ADMINISTRATOR, is_staff=True)
    user = make_user(Role.CME_OFFICER)
    _, raw = api_token_create(actor=Actor.system("test"), user=user, name="t")
    client.force_login(user)
    user_deactivate(actor=Actor(user=admin), user=user)
    assert User.objects.filter(pk=user.pk, is_active=False).exists()
    assert ApiToken.objects.get(user=user).revoked_at is not None
    assert client.get("/").status_code == 302  # the open session no longer works
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    event = AuditEvent.objects.get(summary=f"Deactivated user {user.email}")
    assert event.actor_id == admin.pk


def test_admin_cannot_delete_users_but_can_deactivate(make_user, client):
    admin = make_user(Role.ADMINISTRATOR, is_staff=True)
    user = make_user(Role.CME_OFFICER)
    client.force_login(admin)
    delete = client.get(reverse("admin:accounts_user_delete", args=[user.pk]))
    assert delete.status_code == 403
    changelist = client.get(reverse("admin:accounts_user_changelist"))
    assert "delete_selected" not in changelist.content.decode()
    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "deactivate_users", "_selected_action": [user.pk]},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_active
