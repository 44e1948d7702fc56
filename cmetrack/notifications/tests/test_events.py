"""Each event sends the messages it should, to whom it should, through the stand-in
Notify, naming a reference and not the child (the recipients here are not on a secure
domain unless a test says so)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import SchoolFactory, UserFactory
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import CaseStateChange
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.casework.services import task_create, task_reassign
from cmetrack.casework.tests.factories import open_case
from cmetrack.notifications import services
from cmetrack.notifications.models import Message, Status

from .conftest import TEMPLATES
from .notify_stub import StubNotify

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system("test")


def sent(notify: StubNotify) -> list[dict[str, Any]]:
    services.deliver_due()
    return notify.emails()


def no_child_name(email: dict[str, Any], *names: str) -> bool:
    text = json.dumps(email["personalisation"])
    return not any(n and n in text for n in names)


def test_a_task_given_to_someone_emails_them_once(notify):
    officer = UserFactory.create(roles=[Role.CME_OFFICER], email="olu@outside.example.org")
    other = UserFactory.create(roles=[Role.CME_OFFICER])
    manager = UserFactory.create(roles=[Role.CME_MANAGER])
    case = open_case(officer=officer)
    child = case.child
    task = task_create(
        actor=Actor(user=manager),
        case=case,
        title=f"Ring {child.legal_given_names}'s mother",
        owner=officer,
        due=timezone.localdate(),
    )
    (email,) = sent(notify)
    assert email["email_address"] == officer.email
    assert email["template_id"] == TEMPLATES["task_assigned"]
    assert email["personalisation"]["reference"] == case.reference
    assert no_child_name(email, child.legal_given_names, child.legal_family_name)
    # A task you give yourself is not emailed; one passed on to someone else is.
    task_create(
        actor=Actor(user=officer), case=case, title="Note", owner=officer, due=timezone.localdate()
    )
    task_reassign(actor=Actor(user=manager), task=task, owner=other)
    emails = sent(notify)
    assert [e["email_address"] for e in emails] == [officer.email, other.email]


def test_a_risk_assessment_emails_every_other_manager(notify):
    from cmetrack.safeguarding.tests.factories import record_assessment

    officer_manager = UserFactory.create(roles=[Role.CME_MANAGER])
    managers = [UserFactory.create(roles=[Role.CME_MANAGER]) for _ in range(2)]
    UserFactory.create(roles=[Role.CME_MANAGER], is_active=False)
    case = open_case(officer=officer_manager)
    record_assessment(case, officer_manager, "high")
    emails = sent(notify)
    assert sorted(e["email_address"] for e in emails) == sorted(m.email for m in managers)
    assert {e["template_id"] for e in emails} == {TEMPLATES["risk_assessment_awaiting"]}
    assert all(e["personalisation"]["level"] == "high" for e in emails)
    assert all(no_child_name(e, case.child.legal_family_name) for e in emails)


def test_a_referral_is_acknowledged_to_the_agency_with_its_reference(notify):
    from cmetrack.accounts.tests.factories import AgencyFactory
    from cmetrack.referrals.services import referral_agency_create
    from cmetrack.referrals.tests.factories import agency_fields

    agency_user = UserFactory.create(roles=[Role.AGENCY_USER], organisation=AgencyFactory.create())
    referral = referral_agency_create(actor=Actor(user=agency_user), **agency_fields())
    (email,) = sent(notify)
    assert email["email_address"] == agency_user.email
    assert email["template_id"] == TEMPLATES["referral_acknowledgement"]
    assert email["personalisation"]["reference"] == referral.reference
    assert no_child_name(email, "Jakub", "Nowak", "Station Road")


def test_off_roll_advice_goes_to_the_schools_users(notify):
    from cmetrack.cases.services import case_advise_off_roll

    school = SchoolFactory.create()
    school_users = [
        UserFactory.create(roles=[Role.SCHOOL_USER], organisation=school) for _ in range(2)
    ]
    UserFactory.create(roles=[Role.SCHOOL_USER], organisation=SchoolFactory.create())
    officer = UserFactory.create(roles=[Role.CME_OFFICER])
    case = case_in_state(CaseState.SLO_INVESTIGATION, school=school)
    advised = timezone.localdate() + dt.timedelta(days=5)
    case_advise_off_roll(actor=Actor(user=officer), case=case, advised_date=advised)
    emails = sent(notify)
    assert sorted(e["email_address"] for e in emails) == sorted(u.email for u in school_users)
    assert all(e["personalisation"]["school"] == school.name for e in emails)
    assert all(e["personalisation"]["reference"] == case.reference for e in emails)


def test_an_enquiry_goes_to_the_named_contact_with_a_secure_file_link(notify):
    from cmetrack.enquiries.services import enquiry_send
    from cmetrack.enquiries.tests.conftest import make_authority
    from cmetrack.people.models import Address

    officer = UserFactory.create(roles=[Role.CME_OFFICER])
    case = open_case(officer=officer)
    Address.objects.create(
        child=case.child,
        line1="7 Hidden Refuge Close",
        town="Safeton",
        postcode="ZZ9 9ZZ",
        date_from=dt.date(2026, 1, 1),
        is_restricted=True,
    )
    camden = make_authority("202", "Camden", cme_contact_email="cme.contact@camden.example")
    enquiry = enquiry_send(
        actor=Actor(user=officer), case=case, local_authority=camden, reason_linked="Moved"
    )
    (email,) = sent(notify)
    assert email["email_address"] == "cme.contact@camden.example"
    assert email["template_id"] == TEMPLATES["enquiry_outgoing"]
    assert email["personalisation"]["reference"] == enquiry.reference
    document = email["personalisation"]["document"]
    assert document["confirm_email_before_download"] is True
    content = base64.b64decode(document["file"]).decode()
    assert enquiry.reference in content
    assert "Hidden Refuge" not in content
    assert "ZZ9 9ZZ" not in content
    assert "Hidden Refuge" not in json.dumps(email)
    assert no_child_name(email, case.child.legal_family_name)


def test_an_enquiry_to_a_secure_domain_names_the_child(notify, settings):
    from cmetrack.enquiries.services import enquiry_send
    from cmetrack.enquiries.tests.conftest import make_authority

    settings.CMETRACK_NOTIFY_ENQUIRY_DOCUMENT = "none"
    officer = UserFactory.create(roles=[Role.CME_OFFICER])
    case = open_case(officer=officer)
    camden = make_authority("202", "Camden", cme_contact_email="cme@exampleshire.gov.uk")
    enquiry_send(actor=Actor(user=officer), case=case, local_authority=camden, reason_linked="x")
    (email,) = sent(notify)
    assert email["personalisation"]["about"] == case.child.full_name
    assert "secure email" in email["personalisation"]["document"]


def test_a_failed_background_import_tells_the_uploader(notify):
    from cmetrack.detection.jobs import import_failed_tell
    from cmetrack.detection.models import ImportKind, ImportRun, ImportStatus

    uploader = UserFactory.create(roles=[Role.CME_OFFICER])
    run = ImportRun.objects.create(
        kind=ImportKind.ATTENDANCE,
        status=ImportStatus.FAILED,
        file_name="attendance.csv",
        content_hash="x" * 64,
        by=uploader,
        errors=[{"line": 3, "column": "upn", "message": "Jakub Nowak: bad UPN"}],
    )
    import_failed_tell(run)
    (email,) = sent(notify)
    assert email["email_address"] == uploader.email
    assert email["personalisation"]["file"] == "attendance.csv"
    assert "1 problem(s)" in email["personalisation"]["error"]
    assert no_child_name(email, "Jakub", "Nowak")


def test_dormant_review_emails_due_in_seven_days_and_overdue_once_each(notify):
    from cmetrack.safeguarding.jobs import dormant_review_emails_send
    from cmetrack.safeguarding.tests.factories import dormant_case

    officer = UserFactory.create(roles=[Role.CME_OFFICER])
    soon, late, later = dormant_case(officer), dormant_case(officer), dormant_case(officer)
    now = timezone.now()
    CaseStateChange.objects.filter(case=soon, to_state=CaseState.DORMANT).update(
        at=now - dt.timedelta(days=25)
    )
    CaseStateChange.objects.filter(case=late, to_state=CaseState.DORMANT).update(
        at=now - dt.timedelta(days=40)
    )
    Message.objects.all().delete()  # (the risk assessments' emails)
    assert dormant_review_emails_send(actor=SYSTEM) == 2
    assert dormant_review_emails_send(actor=SYSTEM) == 0  # once for each review
    kinds = dict(Message.objects.values_list("reference", "kind"))
    assert kinds == {soon.reference: "dormant_review_due", late.reference: "dormant_review_overdue"}
    assert later.reference not in kinds
    assert len(sent(notify)) == 2


def test_enquiry_reply_emails_due_and_overdue(notify):
    from cmetrack.enquiries.jobs import enquiry_reply_emails_send
    from cmetrack.enquiries.models import OutgoingEnquiry
    from cmetrack.enquiries.services import enquiry_send
    from cmetrack.enquiries.tests.conftest import make_authority

    officer = UserFactory.create(roles=[Role.CME_OFFICER])
    camden = make_authority("202", "Camden")
    today = timezone.localdate()
    due_soon = enquiry_send(
        actor=Actor(user=officer),
        case=open_case(officer=officer),
        local_authority=camden,
        reason_linked="x",
    )
    overdue = enquiry_send(
        actor=Actor(user=officer),
        case=open_case(officer=officer),
        local_authority=camden,
        reason_linked="y",
    )
    OutgoingEnquiry.objects.filter(pk=due_soon.pk).update(
        reply_due_on=today + dt.timedelta(days=1), remind_on=today + dt.timedelta(days=1)
    )
    OutgoingEnquiry.objects.filter(pk=overdue.pk).update(
        reply_due_on=today - dt.timedelta(days=3), remind_on=today - dt.timedelta(days=3)
    )
    Message.objects.all().delete()
    assert enquiry_reply_emails_send(actor=SYSTEM, today=today) == 2
    assert enquiry_reply_emails_send(actor=SYSTEM, today=today) == 0
    emails = sent(notify)
    by_template = {e["template_id"]: e for e in emails}
    assert set(by_template) == {TEMPLATES["enquiry_reply_due"], TEMPLATES["enquiry_reply_overdue"]}
    assert all(e["email_address"] == officer.email for e in emails)
    assert by_template[TEMPLATES["enquiry_reply_overdue"]]["personalisation"]["reference"] == (
        overdue.reference
    )


def test_a_stale_attendance_feed_tells_the_cme_team_once(notify):
    from cmetrack.detection.jobs import attendance_feeds_stale_tell
    from cmetrack.detection.models import AttendancePartition
    from cmetrack.schoolcalendar.models import Term

    team = [
        UserFactory.create(roles=[Role.CME_MANAGER]),
        UserFactory.create(roles=[Role.CME_OFFICER]),
    ]
    UserFactory.create(roles=[Role.SLO])
    today = dt.date(2026, 3, 20)  # a Friday
    Term.objects.create(term_start=dt.date(2026, 1, 5), term_end=dt.date(2026, 3, 27))
    quiet, fresh = SchoolFactory.create(), SchoolFactory.create()
    AttendancePartition.objects.create(
        school=quiet, academic_year=2025, path="x", last_date=dt.date(2026, 3, 10)
    )
    AttendancePartition.objects.create(
        school=fresh, academic_year=2025, path="y", last_date=dt.date(2026, 3, 18)
    )
    assert attendance_feeds_stale_tell(today=today) == 1
    assert attendance_feeds_stale_tell(today=today) == 0
    emails = sent(notify)
    assert sorted(e["email_address"] for e in emails) == sorted(u.email for u in team)
    assert {e["personalisation"]["school"] for e in emails} == {quiet.name}
    assert {e["personalisation"]["days"] for e in emails} == {"7"}


def test_the_digest_schedule_sends_one_email_a_person(notify):
    from cmetrack.notifications.jobs import send_digests

    officer = UserFactory.create(roles=[Role.CME_OFFICER])
    manager = UserFactory.create(roles=[Role.CME_MANAGER])
    services.preference_set(
        actor=Actor(user=officer), user=officer, choices={"task_assigned": "daily"}
    )
    case = open_case(officer=officer)
    for n in range(3):
        task_create(
            actor=Actor(user=manager),
            case=case,
            title=f"Task {n}",
            owner=officer,
            due=timezone.localdate(),
        )
    assert sent(notify) == []
    assert send_digests() == "notifications: 1 daily digest(s)"
    (email,) = notify.emails()
    assert email["template_id"] == TEMPLATES["digest"]
    assert email["personalisation"]["count"] == "3"
    assert Message.objects.filter(status=Status.IN_DIGEST).count() == 3


def test_emails_about_a_child_are_in_the_subject_access_records_and_anonymised(settings, client):
    from cmetrack.dataprotection.records import child_records
    from cmetrack.dataprotection.retention import child_anonymise

    settings.CMETRACK_NOTIFY_SECURE_DOMAINS = ["exampleshire.gov.uk"]
    officer = UserFactory.create(roles=[Role.CME_OFFICER], email="o@exampleshire.gov.uk")
    case = open_case(officer=officer)
    (row,) = services.notification_send(
        key="task_assigned",
        recipients=[officer],
        reference=case.reference,
        child_id=case.child_id,
        child_name=case.child.full_name,
    )
    assert row.personalisation["about"] == case.child.full_name
    assert [m.pk for m in child_records(case.child).groups["notifications.message"]] == [row.pk]
    client.force_login(UserFactory.create(roles=[Role.CME_MANAGER]))
    for suffix in ("subject-access/", "subject-access.json"):
        shown = client.get(f"/data-protection/children/{case.child_id}/{suffix}")
        assert shown.status_code == 200
        assert case.reference in shown.content.decode()
        assert "o@exampleshire.gov.uk" in shown.content.decode()
    child_anonymise(actor=SYSTEM, child=case.child)
    row.refresh_from_db()
    assert row.personalisation == {}
    assert row.email_address == ""
