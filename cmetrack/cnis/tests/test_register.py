"""Who is on the children-not-in-school register, and what it is missing for whom."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.test import override_settings
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.cnis import selectors, services
from cmetrack.cnis.selectors import Basis
from cmetrack.people.models import Address, ParentCarer
from cmetrack.people.tests.factories import AddressFactory, ChildFactory
from cmetrack.registers.services import home_education_record_add, home_education_record_end

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def school_age_dob() -> dt.date:
    """A date of birth in the year ten years before this one, worked out when the test runs."""
    return dt.date(timezone.localdate().year - 10, 1, 15)


def _home_educated(**child):
    today = timezone.localdate()
    child.setdefault("dob", school_age_dob())
    c = ChildFactory.create(**child)
    home_education_record_add(actor=SYSTEM, child=c, started_on=today - dt.timedelta(days=30))
    return c


def _entry(child):
    return next(e for e in selectors.register_entries() if e.child == child)


def _complete(child, parent_hours="20"):
    AddressFactory.create(child=child)
    ParentCarer.objects.create(
        child=child, given_names="Sam", family_name="Lee", relationship="mother"
    )
    services.register_details_update(
        actor=SYSTEM,
        child=child,
        parent_hours_per_week=Decimal(parent_hours),
        no_other_providers=True,
    )


def test_sources_of_the_register(today):
    he = _home_educated()
    located = case_in_state(
        CaseState.LOCATED, child=ChildFactory.create(dob=school_age_dob())
    ).child
    tracking = case_in_state(
        CaseState.TRACKING, child=ChildFactory.create(dob=school_age_dob())
    ).child
    part_time = ChildFactory.create(dob=school_age_dob())
    services.part_time_arrangement_add(
        actor=SYSTEM,
        child=part_time,
        kind="elsewhere",
        school=SchoolFactory.create(),
        started_on=today,
    )
    student = ChildFactory.create(dob=school_age_dob())
    services.part_time_arrangement_add(
        actor=SYSTEM, child=student, kind="part_time_student", started_on=today
    )
    too_old = _home_educated(dob=dt.date(today.year - 18, 1, 1))
    ended = _home_educated()
    record = ended.home_education_records.get()
    home_education_record_end(actor=SYSTEM, record=record, ended_on=today, reason="Back at school")

    bases = {e.child: e.bases for e in selectors.register_entries(on=today + dt.timedelta(days=1))}
    assert bases[he] == [Basis.HOME_EDUCATED]
    assert bases[located] == [Basis.CME]
    assert bases[part_time] == [Basis.ELSEWHERE]
    assert bases[student] == [Basis.PART_TIME_STUDENT]
    assert tracking not in bases  # whereabouts not known: not known to live here
    assert too_old not in bases  # past compulsory school age
    assert ended not in bases  # off the list by then
    # The day before it ended the child was still on the list.
    assert ended in {e.child for e in selectors.register_entries(on=today - dt.timedelta(days=1))}


def test_completeness_names_each_missing_item():
    child = _home_educated(dob=None)
    ParentCarer.objects.create(
        child=child,
        given_names="Ann",
        family_name="Bell",
        relationship="mother",
        lives_with_child=False,
    )
    missing = _entry(child).missing
    assert "Date of birth" in missing
    assert "Home address" in missing
    assert "Address of Ann Bell" in missing
    assert "Time educated by the parents" in missing
    assert "Time educated by others (or confirm nobody else educates the child)" in missing


def test_complete_entry_and_parent_living_with_the_child():
    child = _home_educated()
    _complete(child)
    entry = _entry(child)
    assert entry.missing == []
    assert entry.complete


def test_provider_items_required():
    child = _home_educated()
    _complete(child)
    services.provider_add(actor=SYSTEM, child=child, name="Maths Tutor Ltd", provider_type="tutor")
    missing = _entry(child).missing
    assert "Time spent with Maths Tutor Ltd" in missing
    assert "Address of Maths Tutor Ltd" in missing
    assert "Where Maths Tutor Ltd educates the child (address or online address)" in missing
    # Adding a provider withdraws "nobody else educates the child".
    assert not child.cnis_details.__class__.objects.get(child=child).no_other_providers
    services.provider_add(
        actor=SYSTEM,
        child=child,
        name="Oak Online",
        provider_type="online_school",
        hours_per_week=Decimal("6"),
        address="1 Web St, London",
        where="https://oak.example",
        online=True,
    )
    entry = _entry(child)
    assert not any("Oak Online" in m for m in entry.missing)
    assert entry.other_hours is None  # one provider's time is unknown


@override_settings(CMETRACK_CNIS_PROVIDER_HOURS_THRESHOLD="5")
def test_providers_at_or_below_the_prescribed_hours_need_only_the_time():
    child = _home_educated()
    _complete(child)
    services.provider_add(
        actor=SYSTEM, child=child, name="Piano", provider_type="other", hours_per_week=Decimal("1")
    )
    services.provider_add(
        actor=SYSTEM,
        child=child,
        name="College",
        provider_type="college",
        hours_per_week=Decimal("12"),
    )
    entry = _entry(child)
    assert not any("Piano" in m for m in entry.missing)
    assert "Address of College" in entry.missing
    assert entry.other_hours == Decimal("13")


def test_restricted_address_counts_as_known():
    child = _home_educated()
    _complete(child)
    Address.objects.filter(child=child).update(is_restricted=True)
    assert _entry(child).missing == []


def test_completeness_report_counts_items():
    a = _home_educated()
    b = _home_educated()
    _complete(b)
    report = selectors.completeness_report()
    assert report.total == 2
    assert report.complete == 1
    assert [e.child for e in report.incomplete] == [a]
    assert dict(report.by_item)["Home address"] == 1


@pytest.mark.parametrize("role", [Role.SLO, Role.SCHOOL_USER, Role.AUDITOR, Role.VIRTUAL_SCHOOL])
def test_only_the_cme_team_writes(make_user, role):
    with pytest.raises(PermissionDenied):
        services.register_details_update(
            actor=Actor(user=make_user(role)),
            child=ChildFactory.create(),
            parent_hours_per_week=Decimal(1),
        )


def test_setting_default_is_off(settings):
    if hasattr(settings, "CMETRACK_CNIS_ENABLED"):
        del settings.CMETRACK_CNIS_ENABLED
    assert not selectors.cnis_enabled()
    settings.CMETRACK_CNIS_ENABLED = True
    assert selectors.cnis_enabled()


def test_one_child_only():
    a = _home_educated()
    _home_educated()
    assert [e.child for e in selectors.register_entries(child_id=a.pk)] == [a]
    assert selectors.register_entries(child_id=ChildFactory.create().pk) == []


def test_queries_do_not_grow_with_the_register(django_assert_max_num_queries):
    for _ in range(3):
        c = _home_educated()
        _complete(c)
        services.provider_add(actor=SYSTEM, child=c, name="Tutor", provider_type="tutor")
    with django_assert_max_num_queries(8) as small:
        selectors.register_entries()
    for _ in range(12):
        c = _home_educated()
        _complete(c)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(selectors.register_entries()) == 15
