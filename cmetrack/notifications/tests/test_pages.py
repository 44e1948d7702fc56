"""The email settings page and the managers' list of emails sent."""

from __future__ import annotations

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import UserFactory
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.kit.testing import assert_problem, errors_by_field
from cmetrack.notifications import services
from cmetrack.notifications.models import Preference

pytestmark = pytest.mark.django_db

URL = "/notifications/settings/"


def test_a_person_sets_their_own_preferences(client):
    officer = UserFactory.create(roles=[Role.CME_MANAGER])
    client.force_login(officer)
    page = client.get(URL).content.decode()
    assert "A task given to you" in page
    assert 'name="task_assigned"' in page
    # Required messages are listed, not offered as a choice.
    assert "A risk assessment waiting for your authorisation" in page
    assert 'name="risk_assessment_awaiting"' not in page
    answer = dict.fromkeys(
        (
            "task_assigned",
            "dormant_review_due",
            "dormant_review_overdue",
            "enquiry_reply_due",
            "enquiry_reply_overdue",
            "import_failed",
            "feed_stale",
        ),
        "at_once",
    )
    answer.update(task_assigned="off", feed_stale="daily", risk_assessment_awaiting="off")
    response = client.post(URL, answer)
    assert response.status_code == 302
    assert dict(Preference.objects.filter(user=officer).values_list("kind", "frequency")) == {
        "task_assigned": "off",
        "feed_stale": "daily",
    }
    assert services.frequency_for(officer, "risk_assessment_awaiting") == "at_once"
    assert AuditEvent.objects.filter(object_type="notifications.preference").count() == 1
    assert "Your email settings have been saved" in client.get(f"{URL}?saved=1").content.decode()


def test_a_missing_answer_is_an_error_in_the_persons_words(client):
    client.force_login(UserFactory.create(roles=[Role.SCHOOL_USER]))
    response = client.post(URL, {})
    assert response.status_code == 400
    assert "Select how you want to hear about: An import that failed" in response.content.decode()


def test_nobody_sets_another_persons_preferences():
    from django.core.exceptions import PermissionDenied

    one, other = UserFactory.create(), UserFactory.create()
    with pytest.raises(PermissionDenied):
        services.preference_set(actor=Actor(user=one), user=other, choices={"feed_stale": "off"})


def test_managers_see_the_emails_sent_and_their_receipts(client):
    manager = UserFactory.create(roles=[Role.CME_MANAGER])
    officer = UserFactory.create(roles=[Role.CME_OFFICER])
    services.notification_send(key="task_assigned", recipients=[officer], reference="CME-77")
    client.force_login(manager)
    assert "/notifications/sent/" in client.get(URL).content.decode()
    page = client.get("/notifications/sent/").content.decode()
    assert "CME-77" in page
    assert officer.email in page
    assert "Waiting to be sent" in page
    client.force_login(officer)
    assert "/notifications/sent/" not in client.get(URL).content.decode()
    assert client.get("/notifications/sent/").status_code == 403


def test_deploy_checks_ask_for_notify_or_an_explicit_choice(settings):
    from cmetrack.notifications import checks

    settings.CMETRACK_NOTIFY_BACKEND_CHOSEN = False
    assert [p.id for p in checks.check_production()] == ["notifications.W001"]
    settings.CMETRACK_NOTIFY_BACKEND_CHOSEN = True
    settings.CMETRACK_NOTIFY_BACKEND = "console"
    assert checks.check_production() == []
    settings.CMETRACK_NOTIFY_BACKEND = "notify"
    settings.CMETRACK_NOTIFY_API_KEY = ""
    settings.CMETRACK_NOTIFY_TEMPLATES = {}
    settings.CMETRACK_NOTIFY_CALLBACK_TOKEN = ""
    ids = [p.id for p in checks.check_production()]
    assert ids == ["notifications.E002", "notifications.W003", "notifications.W004"]
    settings.CMETRACK_NOTIFY_BACKEND = "smtp"
    assert [p.id for p in checks.check_backend()] == ["notifications.E001"]


def test_the_api_reads_and_sets_my_preferences(client):
    officer = UserFactory.create(roles=[Role.CME_MANAGER])
    client.force_login(officer)
    listing = client.get("/api/v1/notification-preferences").json()
    by_kind = {row["kind"]: row for row in listing}
    assert by_kind["task_assigned"]["frequency"] == "at_once"
    assert by_kind["risk_assessment_awaiting"]["required"] is True
    changed = client.post(
        "/api/v1/notification-preferences",
        {"choices": {"task_assigned": "daily"}},
        content_type="application/json",
    )
    assert changed.status_code == 200
    assert {r["kind"]: r["frequency"] for r in changed.json()}["task_assigned"] == "daily"
    refused = client.post(
        "/api/v1/notification-preferences",
        {"choices": {"referral_acknowledgement": "off"}},
        content_type="application/json",
    )
    body = assert_problem(refused, 422, "invalid")
    assert "referral_acknowledgement" in errors_by_field(body)
    assert services.frequency_for(officer, "task_assigned") == "daily"


def test_each_person_is_offered_the_messages_of_their_roles(client):
    school_user = UserFactory.create(roles=[Role.SCHOOL_USER])
    client.force_login(school_user)
    page = client.get(URL).content.decode()
    assert 'name="import_failed"' in page
    assert 'name="task_assigned"' not in page
    assert "The acknowledgement of a referral" in page
    assert "A risk assessment waiting for your authorisation" not in page
