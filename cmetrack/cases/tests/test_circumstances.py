"""Recording why a child is missing education and whether new to the area or country."""

from __future__ import annotations

import pytest

from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases import services
from cmetrack.cases.lifecycle import CaseState, PreconditionFailed
from cmetrack.cases.models import CmeCategory, CmeReason, YesNoUnknown
from cmetrack.cases.services import CaseVersionConflict
from cmetrack.cases.tests.factories import case_in_state

pytestmark = pytest.mark.django_db


def test_reason_sets_its_category_and_is_audited_and_versioned(school, officer):
    case = case_in_state(CaseState.TRACKING, school=school)
    version = case.version
    case = services.case_record_circumstances(
        actor=Actor(user=officer),
        case=case,
        cme_reason=CmeReason.ARRIVED_FROM_ABROAD,
        new_to_area=YesNoUnknown.YES,
        new_to_country=YesNoUnknown.YES,
        expected_version=version,
    )
    case.refresh_from_db()
    assert case.cme_reason == CmeReason.ARRIVED_FROM_ABROAD
    assert case.cme_category == CmeCategory.AWAITING_PLACE
    assert (case.new_to_area, case.new_to_country) == ("yes", "yes")
    assert case.version == version + 1
    event = AuditEvent.objects.filter(object_id=str(case.pk), actor=officer).latest("at")
    assert event.changes["after"]["cme_reason"] == "arrived_from_abroad"
    assert "Arrived from outside the UK" in case.chronology.latest("at").summary


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        (CmeReason.LEFT_NO_DESTINATION, CmeCategory.WHEREABOUTS_UNKNOWN),
        (CmeReason.UNSUITABLE_EHE, CmeCategory.UNSUITABLE_EDUCATION),
        (CmeReason.OTHER, CmeCategory.OTHER),
    ],
)
def test_every_reason_has_a_category(school, officer, reason, category):
    case = case_in_state(CaseState.RECEIVED, school=school)
    case = services.case_record_circumstances(
        actor=Actor(user=officer), case=case, cme_reason=reason
    )
    assert case.cme_category == category


def test_new_to_the_country_but_not_the_area_is_refused(school, officer):
    case = case_in_state(CaseState.TRACKING, school=school)
    with pytest.raises(PreconditionFailed, match="also new to the area"):
        services.case_record_circumstances(
            actor=Actor(user=officer),
            case=case,
            cme_reason=CmeReason.ARRIVED_FROM_ABROAD,
            new_to_area=YesNoUnknown.NO,
            new_to_country=YesNoUnknown.YES,
        )
    case.refresh_from_db()
    assert case.cme_reason == ""


def test_unknown_reason_is_refused_and_stale_version_conflicts(school, officer):
    case = case_in_state(CaseState.TRACKING, school=school)
    with pytest.raises(PreconditionFailed, match="primary reason"):
        services.case_record_circumstances(actor=Actor(user=officer), case=case, cme_reason="x")
    with pytest.raises(CaseVersionConflict):
        services.case_record_circumstances(
            actor=Actor(user=officer),
            case=case,
            cme_reason=CmeReason.OTHER,
            expected_version=case.version - 1 if case.version > 1 else case.version + 5,
        )


def test_the_case_page_form_records_the_circumstances(client, school, officer):
    case = case_in_state(CaseState.TRACKING, school=school)
    client.force_login(officer)
    url = f"/cases/{case.pk}/actions/record_circumstances/"
    page = client.get(url)
    assert page.status_code == 200
    assert "Primary reason the child is missing education" in page.content.decode()
    bad = client.post(url, {"expected_version": case.version})
    assert "Choose the primary reason" in bad.content.decode()
    ok = client.post(
        url,
        {
            "expected_version": case.version,
            "cme_reason": "moved_into_area",
            "new_to_area": "yes",
            "new_to_country": "no",
        },
    )
    assert ok.status_code == 302
    case.refresh_from_db()
    assert case.cme_category == CmeCategory.AWAITING_PLACE
    detail = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Moved into the area from elsewhere in the UK" in detail
