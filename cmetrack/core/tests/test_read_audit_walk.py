"""Every response that shows a child writes its audit row (issue 17 item 7).

Walks every URL of the access matrix (``test_access_matrix.REGISTRY``) that answers GET and
carries a record of the child in its path (a child, case, referral or risk assessment), as
every role, with the ids of a child, case, referral and risk assessment that role may see
(an SLO's and a safeguarding adviser's case is assigned to them, the Virtual School's child
is in care). For each successful response that shows the child (its distinctive family
name), a ``view`` or ``export`` audit row with the child's id must have been written by
that request. The rows are written structurally (``audit.middleware``), so a page or
endpoint added later is covered without doing anything.

Lists and searches (work queues, search results) are walked by
``audit/tests/test_list_audit_walk.py``: one row per child shown, one insert per response.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import ReferralRoute
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.referrals.services import referral_record
from cmetrack.safeguarding.tests.factories import record_assessment

from .test_access_matrix import FIXED_PARAMS, REGISTRY, body_of, guessed, route_params, url_routes

pytestmark = pytest.mark.django_db

FAMILY = "Qzxwalkedchild"
READS = (AuditAction.VIEW, AuditAction.EXPORT)


def _world(role: Role, user: Any) -> dict[str, Any]:
    """A child the role may see, with a case (tracking), a referral and a risk assessment."""
    school = SchoolFactory.create()
    child = ChildFactory.create(
        legal_given_names="Wren", legal_family_name=FAMILY, in_care=role == Role.VIRTUAL_SCHOOL
    )
    assigned = user if role in (Role.SLO, Role.SAFEGUARDING_ADVISER) else None
    case = case_in_state(CaseState.TRACKING, school=school, child=child, assigned_officer=assigned)
    referral = referral_record(
        actor=Actor.system("test"), route=ReferralRoute.SCHOOL, given_names="Wren",
        family_name=FAMILY, reason="Stopped attending", referring_organisation=school,
        school=school,
    )  # fmt: skip
    referral.child = child
    referral.case = case
    referral.save(update_fields=["child", "case"])
    assessment = record_assessment(case)
    return {
        "child_id": child.pk,
        "case_id": case.pk,
        "reference": referral.reference,
        "assessment_id": assessment.pk,
        "_child": child,
    }


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_every_response_that_shows_a_child_writes_its_audit_row(role, client, make_user):
    user = make_user(role, organisation=SchoolFactory.create()) if role in (
        Role.SCHOOL_USER,
    ) else make_user(role)  # fmt: skip
    world = _world(role, user)
    child = world["_child"]
    client.force_login(user)
    routes = url_routes()
    reads = AuditEvent.objects.filter(child_id=child.pk, action__in=READS)
    shown, missing = 0, []
    for name, entry in sorted(REGISTRY.items()):
        if name == "logout" or name not in routes or "GET" not in entry.methods:
            continue
        kwargs: dict[str, Any] = {}
        fixed = {**FIXED_PARAMS, **dict(entry.fixed)}
        params = route_params(routes[name])
        if not any(param in world for _, param in params):
            continue  # a list or search, not a page about one child
        for conv, param in params:
            kwargs[param] = fixed.get(param) or world.get(param) or guessed(conv, param)
        url = reverse(name, kwargs=kwargs or None)
        before = reads.count()
        response = client.get(url)
        if not 200 <= response.status_code < 300 or FAMILY not in body_of(response):
            continue
        shown += 1
        if reads.count() == before:
            missing.append(f"{role.value} GET {url} ({name}) shows the child: no audit row")
    assert not missing, "\n".join(missing)
    if role in (Role.CME_OFFICER, Role.CME_MANAGER):
        assert shown >= 10, f"the walk showed the child on only {shown} responses"


def test_the_middleware_writes_one_row_when_the_view_wrote_none(client, make_user):
    """The consultations page writes no row of its own: the middleware writes it, once."""
    officer = make_user(Role.CME_OFFICER)
    case = case_in_state(CaseState.TRACKING, child=ChildFactory.create(legal_family_name=FAMILY))
    client.force_login(officer)
    reads = AuditEvent.objects.filter(child_id=case.child_id, action__in=READS)
    before = reads.count()
    response = client.get(reverse("casework:consultations", args=[case.pk]))
    assert response.status_code == 200
    assert reads.count() == before + 1
    row = reads.latest("id")
    assert row.actor == officer
    assert "casework:consultations" in row.summary


def test_refused_and_missing_records_write_nothing(client, make_user):
    school_user = make_user(Role.SCHOOL_USER, organisation=SchoolFactory.create())
    case = case_in_state(CaseState.TRACKING)
    client.force_login(school_user)
    before = AuditEvent.objects.filter(child_id=case.child_id).count()
    for url in (
        reverse("casework:consultations", args=[case.pk]),
        reverse("cases:case-detail", args=[case.pk]),
        f"/api/v1/cases/{case.pk}",
    ):
        assert client.get(url).status_code in (403, 404)
    assert AuditEvent.objects.filter(child_id=case.child_id).count() == before
    assert dt.date.today()  # (the walk above covers every role; this one is the refusal)
