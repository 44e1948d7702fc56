"""The alerts pages and API: scoping, filters, evidence, one-click referral, errors."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.cases.tests.factories import CaseFactory
from cmetrack.detection.models import Alert, AlertRule, AlertState
from cmetrack.kit.testing import assert_problem
from cmetrack.people.models import ChildVulnerability
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.referrals.models import Referral

from .factories import AlertFactory, school

pytestmark = pytest.mark.django_db


@pytest.fixture
def setting() -> dict[str, Any]:
    ours, other = school(estab="2001"), school(estab="2002")
    in_care = ChildFactory.create(in_care=True)
    mine = AlertFactory.create(school=ours, family_name="Ours", dob=date(2016, 1, 1))
    theirs = AlertFactory.create(
        school=other,
        family_name="Theirs",
        rule=AlertRule.LEAVER_NO_DESTINATION,
        dob=date(2012, 1, 1),
        child=in_care,
        evidence={"left_on": "2025-10-01", "how": "deletion return, ground (i), no destination"},
    )
    return {"ours": ours, "other": other, "mine": mine, "theirs": theirs}


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_cme_officer_sees_every_alert_and_filters_them(
    setting: dict[str, Any], make_user: Any
) -> None:
    client = client_for(make_user(Role.CME_OFFICER))
    url = reverse("detection:alert-list")
    page = client.get(url).content.decode()
    assert "Ours" in page
    assert "Theirs" in page
    for query, shown, hidden in [
        ({"rule": "leaver_no_destination"}, "Theirs", "Ours"),
        ({"school": setting["ours"].pk}, "Ours", "Theirs"),
        ({"age": "under_11"}, "Ours", "Theirs"),
        ({"age": "11_to_15"}, "Theirs", "Ours"),
        ({"group": "in_care"}, "Theirs", "Ours"),
    ]:
        page = client.get(url, query).content.decode()
        assert shown in page, query
        assert hidden not in page, query


def test_vulnerable_group_filter(setting: dict[str, Any], make_user: Any) -> None:
    child = ChildFactory.create()
    ChildVulnerability.objects.create(child=child, group="grt")
    AlertFactory.create(family_name="Traveller", child=child)
    page = client_for(make_user(Role.CME_MANAGER)).get(
        reverse("detection:alert-list"), {"group": "grt"}
    )
    assert "Traveller" in page.content.decode()
    assert "Ours" not in page.content.decode()


def test_a_school_sees_only_its_own_pupils_and_is_asked_to_refer(
    setting: dict[str, Any], make_user: Any
) -> None:
    client = client_for(make_user(Role.SCHOOL_USER, organisation=setting["ours"]))
    page = client.get(reverse("detection:alert-list")).content.decode()
    assert "Ours" in page
    assert "Theirs" not in page
    assert "refer the child to the children missing education team" in page
    other = client.get(reverse("detection:alert-detail", args=[setting["theirs"].pk]))
    assert other.status_code == 404
    mine = client.get(reverse("detection:alert-detail", args=[setting["mine"].pk])).content
    assert b"Refer this child" in mine
    assert b"Dismiss alert" not in mine


@pytest.mark.parametrize(
    "role", [Role.AGENCY_USER, Role.SLO, Role.VIRTUAL_SCHOOL, Role.AUDITOR, Role.ADMINISTRATOR]
)
def test_other_roles_see_no_alerts(setting: dict[str, Any], make_user: Any, role: Role) -> None:
    client = client_for(make_user(role))
    assert client.get(reverse("detection:alert-list")).status_code == 403
    detail = client.get(reverse("detection:alert-detail", args=[setting["mine"].pk]))
    assert detail.status_code == 404
    refer = client.post(reverse("detection:alert-refer", args=[setting["mine"].pk]))
    assert refer.status_code == 404
    assert not Referral.objects.exists()


def test_evidence_page_shows_the_marks_and_is_audited(
    setting: dict[str, Any], make_user: Any
) -> None:
    officer = make_user(Role.CME_OFFICER)
    page = client_for(officer).get(reverse("detection:alert-detail", args=[setting["mine"].pk]))
    text = page.content.decode()
    assert "Attendance marks in the run" in text
    assert "N: reason not yet provided" in text
    assert AuditEvent.objects.filter(
        actor=officer, action="view", object_type="detection.alert", object_id=setting["mine"].pk
    ).exists()


def test_one_click_referral_from_a_school(setting: dict[str, Any], make_user: Any) -> None:
    user = make_user(Role.SCHOOL_USER, organisation=setting["ours"])
    response = client_for(user).post(reverse("detection:alert-refer", args=[setting["mine"].pk]))
    assert response.status_code == 302
    referral = Referral.objects.get()
    assert (referral.route, referral.referring_organisation, referral.school) == (
        "detection",
        setting["ours"],
        setting["ours"],
    )
    alert = Alert.objects.get(pk=setting["mine"].pk)
    assert (alert.state, alert.referral) == (AlertState.REFERRED, referral)


def test_a_school_cannot_dismiss(setting: dict[str, Any], make_user: Any) -> None:
    user = make_user(Role.SCHOOL_USER, organisation=setting["ours"])
    url = reverse("detection:alert-dismiss", args=[setting["mine"].pk])
    assert client_for(user).post(url, {"reason": "Gone"}).status_code == 403


def test_dismiss_without_a_reason_shows_the_error_summary(
    setting: dict[str, Any], make_user: Any
) -> None:
    client = client_for(make_user(Role.CME_OFFICER))
    response = client.post(reverse("detection:alert-dismiss", args=[setting["mine"].pk]), {})
    text = response.content.decode()
    assert response.status_code == 400
    assert "<title>Error:" in text
    assert "There is a problem" in text
    assert 'href="#id_reason"' in text
    assert Alert.objects.get(pk=setting["mine"].pk).state == AlertState.NEW


def test_acknowledge_dismiss_and_attach(setting: dict[str, Any], make_user: Any) -> None:
    client = client_for(make_user(Role.CME_OFFICER))
    mine, theirs = setting["mine"], setting["theirs"]
    client.post(reverse("detection:alert-acknowledge", args=[mine.pk]))
    assert Alert.objects.get(pk=mine.pk).state == AlertState.ACKNOWLEDGED
    client.post(reverse("detection:alert-dismiss", args=[mine.pk]), {"reason": "Moved abroad"})
    assert Alert.objects.get(pk=mine.pk).dismissed_reason == "Moved abroad"
    bad = client.post(
        reverse("detection:alert-attach", args=[theirs.pk]), {"case_reference": "CME-999999"}
    )
    assert bad.status_code == 400
    assert "There is no open case with that reference" in bad.content.decode()
    case = CaseFactory.create()
    client.post(
        reverse("detection:alert-attach", args=[theirs.pk]), {"case_reference": case.reference}
    )
    assert Alert.objects.get(pk=theirs.pk).case == case


def test_the_queue_has_no_n_plus_one(
    setting: dict[str, Any], make_user: Any, django_assert_max_num_queries: Any
) -> None:
    for _ in range(30):
        AlertFactory.create(school=setting["ours"])
    client = client_for(make_user(Role.CME_OFFICER))
    with django_assert_max_num_queries(12):
        assert client.get(reverse("detection:alert-list")).status_code == 200


def test_keyset_pages(setting: dict[str, Any], make_user: Any) -> None:
    for n in range(55):
        AlertFactory.create(school=setting["ours"], family_name=f"Page{n:02d}")
    client = client_for(make_user(Role.CME_OFFICER))
    first = client.get(reverse("detection:alert-list")).content.decode()
    assert "Page54" in first
    assert "More alerts" in first
    last_on_first = Alert.objects.order_by("-id")[49].pk
    second = client.get(reverse("detection:alert-list"), {"after": last_on_first}).content.decode()
    assert "Page54" not in second
    assert "Ours" in second


def test_api_is_scoped_and_audits_a_read(setting: dict[str, Any], make_user: Any) -> None:
    user = make_user(Role.SCHOOL_USER, organisation=setting["ours"])
    client = client_for(user)
    listed = client.get("/api/v1/alerts").json()
    assert [a["family_name"] for a in listed["items"]] == ["Ours"]
    assert_problem(client.get(f"/api/v1/alerts/{setting['theirs'].pk}"), 404, "not_found")
    detail = client.get(f"/api/v1/alerts/{setting['mine'].pk}").json()
    assert detail["evidence"]["sessions"] == 20
    assert AuditEvent.objects.filter(actor=user, action="view").count() == 1
    assert client_for(make_user(Role.AGENCY_USER)).get("/api/v1/alerts").status_code == 403


# --- Uploading a data file ------------------------------------------------------------


def _roll_csv(laestab: str) -> bytes:
    from cmetrack.detection.importers import ROLL_COLUMNS

    from .factories import make_upn

    row = [laestab, make_upn(1), "", "Amira", "Khan", "", "", "2014-05-01", "F", "", "", "6",
           "", "C"]  # fmt: skip
    return (",".join(ROLL_COLUMNS) + "\n" + ",".join(row) + "\n").encode()


def test_a_school_uploads_its_own_roll(setting: dict[str, Any], make_user: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from cmetrack.registers.models import RollEntry

    client = client_for(make_user(Role.SCHOOL_USER, organisation=setting["ours"]))
    page = client.get(reverse("detection:upload")).content.decode()
    assert "Term dates" not in page  # only the local authority sends the calendar
    response = client.post(
        reverse("detection:upload"),
        {
            "kind": "roll",
            "taken_on": "02/10/2025",
            "file": SimpleUploadedFile("roll.csv", _roll_csv("9992001"), "text/csv"),
        },
    )
    assert "File imported" in response.content.decode()
    assert RollEntry.objects.get().snapshot.school == setting["ours"]
    refused = client.post(
        reverse("detection:upload"),
        {
            "kind": "roll",
            "taken_on": "02/10/2025",
            "file": SimpleUploadedFile("other.csv", _roll_csv("9992002"), "text/csv"),
        },
    ).content.decode()
    assert "Your file was not imported" in refused
    assert "you can only send data for your own school" in refused
    assert RollEntry.objects.count() == 1


def test_upload_form_errors(setting: dict[str, Any], make_user: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(make_user(Role.CME_OFFICER))
    assert "Term dates" in client.get(reverse("detection:upload")).content.decode()
    response = client.post(
        reverse("detection:upload"),
        {"kind": "roll", "file": SimpleUploadedFile("roll.pdf", b"%PDF-1.4", "application/pdf")},
    )
    text = response.content.decode()
    assert response.status_code == 400
    assert "<title>Error:" in text
    assert "The selected file must be a CSV" in text
    assert "Enter the date the roll was taken" in text


def test_roles_without_data_feeds_cannot_upload(setting: dict[str, Any], make_user: Any) -> None:
    assert (
        client_for(make_user(Role.AGENCY_USER)).get(reverse("detection:upload")).status_code == 403
    )


def test_a_school_sends_a_deletion_return_from_the_form(
    setting: dict[str, Any], make_user: Any
) -> None:
    from cmetrack.detection.models import DeletionReturn

    from .factories import make_upn

    client = client_for(make_user(Role.SCHOOL_USER, organisation=setting["ours"]))
    url = reverse("detection:deletion-return")
    fields = {
        "upn": make_upn(7),
        "legal_given_name": "Amira",
        "legal_family_name": "Khan",
        "dob": "01/05/2014",
        "ground": "i",
        "school_enquiries": "Home visit and calls",
        "la_enquiries": "Checked records",
        "deleted_on": "03/11/2025",
    }
    bad = client.post(url, {**fields, "upn": "A999200025007", "dob": "31/02/2014"})
    text = bad.content.decode()
    assert bad.status_code == 400
    assert "Date of birth must be a real date" in text
    assert not DeletionReturn.objects.exists()
    wrong_upn = client.post(url, {**fields, "upn": "A999200025007"}).content.decode()
    assert "is not a valid UPN: the check letter should be" in wrong_upn
    response = client.post(url, fields, follow=True)
    assert "Deletion return sent for Amira Khan" in response.content.decode()
    record = DeletionReturn.objects.get()
    assert (record.school, record.ground, record.deleted_on) == (
        setting["ours"],
        "i",
        date(2025, 11, 3),
    )


def test_only_schools_use_the_deletion_form(setting: dict[str, Any], make_user: Any) -> None:
    for role in (Role.CME_OFFICER, Role.AGENCY_USER):
        client = client_for(make_user(role))
        assert client.get(reverse("detection:deletion-return")).status_code == 403


def test_the_evidence_page_lists_where_the_child_was_looked_for(
    setting: dict[str, Any], make_user: Any
) -> None:
    alert = setting["theirs"]
    alert.evidence = {**alert.evidence, "not_found_on": ["a later roll", "an open case"]}
    alert.save(update_fields=["evidence"])
    page = client_for(make_user(Role.CME_OFFICER)).get(
        reverse("detection:alert-detail", args=[alert.pk])
    )
    html = page.content.decode()
    assert "Looked for and not found on" in html
    assert "a later roll; an open case" in html
