"""Delivery through a stand-in Notify on loopback: one email per message, retries with
backoff and no duplicate, refusals recorded, receipts, preferences, the digest, privacy,
audit."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import UserFactory
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.jobs.testing import run_queued
from cmetrack.notifications import services
from cmetrack.notifications.kinds import Frequency
from cmetrack.notifications.models import Message, Status

from .conftest import TEMPLATES

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")


def send_task_message(user, *, child_name="Ozymandias Quill", reference="CME-2026-00042"):
    return services.notification_send(
        key="task_assigned",
        recipients=[user],
        reference=reference,
        personalisation={"title": f"Visit {child_name} at home", "due": "9 December 2026"},
        child_name=child_name,
        child_id=7,
        link="/tasks/",
        actor=SYSTEM,
    )


def test_a_message_is_one_email_through_notify_with_its_reference(
    notify, django_capture_on_commit_callbacks
):
    officer = UserFactory.create(email="officer@outside.example.org")
    with django_capture_on_commit_callbacks(execute=True):
        (row,) = send_task_message(officer)
    assert notify.sent == []  # queued, not sent in the request
    run_queued()
    (email,) = notify.emails()
    assert email["email_address"] == "officer@outside.example.org"
    assert email["template_id"] == TEMPLATES["task_assigned"]
    assert email["reference"] == f"cmetrack-{row.pk}"
    personalisation = json.dumps(email["personalisation"])
    assert "CME-2026-00042" in personalisation
    assert "Ozymandias" not in personalisation
    assert "Quill" not in personalisation
    row.refresh_from_db()
    assert (row.status, row.notify_id, row.attempts) == (Status.SENT, email["id"], 1)
    event = AuditEvent.objects.get(object_type="notifications.message", object_id=str(row.pk))
    assert event.child_id == 7
    assert event.changes["template_id"] == TEMPLATES["task_assigned"]
    assert event.changes["to"] == "officer@outside.example.org"


def test_a_secure_domain_sees_the_childs_name(notify):
    officer = UserFactory.create(email="officer@exampleshire.gov.uk")
    send_task_message(officer)
    services.deliver_due()
    (email,) = notify.emails()
    assert email["personalisation"]["about"] == "Ozymandias Quill"
    assert "Ozymandias Quill" in email["personalisation"]["title"]


def test_429_and_500_are_retried_later_without_a_duplicate(notify):
    officer = UserFactory.create()
    (row,) = send_task_message(officer)
    notify.fail_next = [429]
    now = timezone.now()
    assert services.deliver_due(now=now) == {"rate-limited": 1}
    row.refresh_from_db()
    assert row.status == Status.PENDING
    assert "429" in row.last_error
    assert services.deliver_due(now=now) == {}  # not due yet: waits a minute
    notify.fail_next = [500]
    later = now + dt.timedelta(minutes=1, seconds=1)
    assert services.deliver_due(now=later) == {Status.PENDING: 1}
    row.refresh_from_db()
    assert row.next_attempt_at == later + services.backoff(2)  # 60 s after the second try
    assert services.deliver_due(now=later + dt.timedelta(seconds=59)) == {}
    done = services.deliver_due(now=later + dt.timedelta(seconds=61))
    assert done == {Status.SENT: 1}
    assert len(notify.emails()) == 1
    row.refresh_from_db()
    assert row.attempts == 3
    # Running the job again (a retried task) sends nothing more.
    assert services.deliver(row.pk) == Status.SENT
    services.deliver_due(now=later + dt.timedelta(hours=2))
    assert len(notify.emails()) == 1


def test_a_job_that_died_after_notify_accepted_does_not_send_twice(notify):
    officer = UserFactory.create()
    (row,) = send_task_message(officer)
    services.deliver(row.pk)
    assert len(notify.emails()) == 1
    # As if the worker died after Notify's 201 but before recording it.
    Message.objects.filter(pk=row.pk).update(
        status=Status.SENDING, notify_id="", next_attempt_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert services.deliver_due() == {Status.SENT: 1}
    assert len(notify.emails()) == 1  # found at Notify by its reference
    row.refresh_from_db()
    assert row.notify_id == notify.emails()[0]["id"]


def test_a_4xx_is_a_permanent_failure_recorded(notify):
    (row,) = send_task_message(UserFactory.create())
    notify.fail_next = [400]
    assert services.deliver_due() == {Status.FAILED: 1}
    row.refresh_from_db()
    assert row.status == Status.FAILED
    assert "400" in row.last_error
    assert services.deliver_due(now=timezone.now() + dt.timedelta(days=1)) == {}
    assert notify.emails() == []
    # Not sent, and audited as such: who, which template, about what, why.
    event = AuditEvent.objects.get(object_id=str(row.pk), summary__startswith="Not sent")
    assert event.changes["template_id"] == row.template_id
    assert event.changes["to"] == row.email_address
    assert "refused" in event.summary


def test_gives_up_after_the_most_attempts(notify, settings):
    settings.CMETRACK_NOTIFY_MAX_ATTEMPTS = 2
    (row,) = send_task_message(UserFactory.create())
    notify.fail_next = [503, 503]
    now = timezone.now()
    services.deliver_due(now=now)
    services.deliver_due(now=now + dt.timedelta(hours=1))
    row.refresh_from_db()
    assert (row.status, row.attempts) == (Status.FAILED, 2)


def test_per_minute_limit_holds_the_rest(notify, settings):
    settings.CMETRACK_NOTIFY_PER_MINUTE = 2
    for _ in range(3):
        send_task_message(UserFactory.create())
    assert services.deliver_due() == {Status.SENT: 2}
    assert services.deliver_due() == {}
    assert services.deliver_due(now=timezone.now() + dt.timedelta(seconds=61)) == {Status.SENT: 1}
    assert len(notify.emails()) == 3


def test_preferences_off_and_digest(notify):
    off = UserFactory.create(roles=[Role.CME_OFFICER])
    daily = UserFactory.create(roles=[Role.CME_OFFICER])
    services.preference_set(actor=Actor(user=off), user=off, choices={"task_assigned": "off"})
    services.preference_set(actor=Actor(user=daily), user=daily, choices={"task_assigned": "daily"})
    assert send_task_message(off) == []
    send_task_message(daily, reference="CME-2026-00001")
    send_task_message(daily, reference="CME-2026-00002")
    services.deliver_due()
    assert notify.emails() == []
    assert services.digest_send() == 1
    assert services.digest_send() == 0  # nothing waits any more
    services.deliver_due()
    (digest,) = notify.emails()
    assert digest["email_address"] == daily.email
    assert digest["template_id"] == TEMPLATES["digest"]
    assert digest["personalisation"]["count"] == "2"
    assert "CME-2026-00001" in digest["personalisation"]["items"]
    assert "CME-2026-00002" in digest["personalisation"]["items"]
    assert "Ozymandias" not in json.dumps(digest["personalisation"])
    assert set(Message.objects.filter(kind="task_assigned").values_list("status", flat=True)) == {
        Status.IN_DIGEST
    }


def test_required_kinds_cannot_be_switched_off():
    manager = UserFactory.create(roles=[Role.CME_MANAGER])
    with pytest.raises(ValidationError) as raised:
        services.preference_set(
            actor=Actor(user=manager), user=manager, choices={"risk_assessment_awaiting": "off"}
        )
    assert "risk_assessment_awaiting" in raised.value.message_dict
    assert services.frequency_for(manager, "risk_assessment_awaiting") == Frequency.AT_ONCE
    sent = services.notification_send(
        key="risk_assessment_awaiting", recipients=[manager], reference="CME-1"
    )
    assert [m.status for m in sent] == [Status.PENDING]


def test_receipts_recorded_with_the_bearer_token(notify, client):
    (row,) = send_task_message(UserFactory.create())
    services.deliver_due()
    notify_id = notify.emails()[0]["id"]
    url = "/notifications/receipts/"
    body = {"id": notify_id, "reference": f"cmetrack-{row.pk}", "status": "delivered"}
    refused = client.post(url, body, content_type="application/json")
    assert refused.status_code == 401
    wrong = client.post(
        url, body, content_type="application/json", headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401
    row.refresh_from_db()
    assert row.status == Status.SENT
    ok = client.post(
        url,
        body,
        content_type="application/json",
        headers={"Authorization": "Bearer receipts-token-0123456789"},
    )
    assert ok.status_code == 200
    assert ok.json() == {"recorded": True}
    row.refresh_from_db()
    assert row.status == Status.DELIVERED
    assert row.receipt_at is not None
    failed = dict(body, status="permanent-failure")
    client.post(
        url,
        failed,
        content_type="application/json",
        headers={"Authorization": "Bearer receipts-token-0123456789"},
    )
    row.refresh_from_db()
    assert row.get_status_display() == "Not delivered: address does not exist"


def test_file_backend_writes_one_json_per_message(settings, tmp_path):
    settings.CMETRACK_NOTIFY_BACKEND = "file"
    settings.CMETRACK_NOTIFY_OUTBOX = str(tmp_path)
    (row,) = send_task_message(UserFactory.create())
    services.deliver_due()
    written = json.loads((tmp_path / f"cmetrack-{row.pk}.json").read_text())
    assert written["kind"] == "task_assigned"
    assert "CME-2026-00042" in written["subject"]
    assert "Ozymandias" not in json.dumps(written)
    assert services.deliver(row.pk) == Status.SENT
    assert len(list(tmp_path.iterdir())) == 1


def test_console_backend_logs(settings, caplog):
    settings.CMETRACK_NOTIFY_BACKEND = "console"
    (row,) = send_task_message(UserFactory.create(email="someone@example.org"))
    with caplog.at_level("INFO", logger="cmetrack.notifications.backends"):
        services.deliver_due()
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert "task_assigned" in caplog.text


def test_nothing_queued_when_the_transaction_rolls_back(notify, django_capture_on_commit_callbacks):
    from django.db import transaction

    user = UserFactory.create()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                send_task_message(user)
                raise RuntimeError("the event failed")
        except RuntimeError:
            pass
    assert callbacks == []
    assert not Message.objects.exists()


def test_the_childs_name_is_taken_out_word_by_word_for_a_non_secure_address():
    (row,) = services.notification_send(
        key="task_assigned",
        recipients=["someone@outside.example.org"],
        reference="CME-9",
        personalisation={"title": "Annual check: ring ann LEE's mother, then Lee", "due": "today"},
        child_name="Ann Lee",
    )
    assert row.personalisation["title"] == "Annual check: ring CME-9's mother, then CME-9"
    assert row.personalisation["about"] == "CME-9"


def test_one_delivery_job_is_queued_for_many_messages(notify, django_capture_on_commit_callbacks):
    from django.db import transaction

    from cmetrack.jobs import status as worker_status

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        for _ in range(3):
            send_task_message(UserFactory.create())
    with django_capture_on_commit_callbacks(execute=True):
        send_task_message(UserFactory.create())
    assert worker_status.pending_args(services.DELIVER_TASK) == [()]
    run_queued()
    assert len(notify.emails()) == 4


def test_the_stand_in_checks_the_clients_token(notify, settings):
    from . import notify_stub

    settings.CMETRACK_NOTIFY_API_KEY = (
        f"wrong_key-{notify_stub.SERVICE_ID}-99999999-7777-8888-9999-000000000000"
    )
    (row,) = send_task_message(UserFactory.create())
    assert services.deliver_due() == {Status.FAILED: 1}
    row.refresh_from_db()
    assert "403" in row.last_error
    assert notify.emails() == []
