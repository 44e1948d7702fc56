"""The front door's services: the three routes, the school's threshold rule, atomicity."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import AgencyFactory, SchoolFactory
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.referrals.models import CheckKind, CheckStatus, Referral, SchoolCheck
from cmetrack.referrals.services import (
    CheckInput,
    referral_agency_create,
    referral_public_create,
    referral_school_create,
    school_referral_rule_problems,
)
from cmetrack.referrals.tests.factories import (
    RollEntryFactory,
    RollSnapshotFactory,
    agency_fields,
    all_checks,
    school_fields,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def school_user(make_user: Any) -> Any:
    return make_user(Role.SCHOOL_USER, organisation=SchoolFactory.create())


@pytest.fixture
def entry(school_user: Any) -> Any:
    snapshot = RollSnapshotFactory.create(school=school_user.organisation)
    return RollEntryFactory.create(snapshot=snapshot)


def refer(
    user: Any,
    entry: Any,
    *,
    checks: list[CheckInput] | None = None,
    complete: bool = False,
    **overrides: Any,
) -> Referral:
    return referral_school_create(
        actor=Actor(user=user, ip_address="192.0.2.1"),
        roll_entry=entry,
        checks=all_checks() if checks is None else checks,
        all_checks_complete=complete,
        **school_fields(**overrides),
    )


def errors_of(call: Any) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as info:
        call()
    return info.value.message_dict


# --- school referral ------------------------------------------------------------------


def test_a_school_refers_a_pupil_from_its_roll(school_user: Any, entry: Any) -> None:
    referral = refer(school_user, entry)
    assert referral.route == "school"
    assert referral.school == school_user.organisation
    assert referral.referring_organisation == school_user.organisation
    assert referral.referred_by == school_user
    assert referral.roll_entry == entry
    assert referral.postcode == "EX1 4QT"
    assert referral.reference.startswith("R-")
    checks = {c.kind: c for c in referral.checks.all()}
    assert set(checks) == set(CheckKind.values)
    assert checks["telephoned"].done_on == dt.date(2026, 11, 2)
    events = AuditEvent.objects.filter(object_type="referrals.referral", object_id=str(referral.pk))
    assert [e.summary for e in events.order_by("pk")] == [
        "Referral received from a school",
        "Recorded the school's checks",
    ]
    assert events.first().ip_address == "192.0.2.1"  # type: ignore[union-attr]


# (days, school says complete, statuses of the checks) -> the problem keys, or none.
N = CheckStatus.NOT_POSSIBLE
RULE_CASES = [
    (10, False, [CheckStatus.DONE] * 6, set()),
    (25, False, [N] * 6, set()),
    (9, True, [CheckStatus.DONE] * 5 + [CheckStatus.NOT_APPLICABLE], set()),
    (0, True, [CheckStatus.NOT_APPLICABLE] * 6, set()),
    (9, False, [CheckStatus.DONE] * 6, {"all_checks_complete"}),
    (9, True, [CheckStatus.DONE] * 5 + [N], {"checks.slo_discussed.status"}),
    (3, False, [N] + [CheckStatus.DONE] * 5, {"all_checks_complete", "checks.telephoned.status"}),
]


@pytest.mark.parametrize(("days", "complete", "statuses", "expected"), RULE_CASES)
def test_the_ten_school_day_rule(
    school_user: Any, entry: Any, days: int, complete: bool, statuses: list[str], expected: set[str]
) -> None:
    checks = [
        CheckInput(
            kind=kind,
            status=status,
            done_on=dt.date(2026, 11, 2) if status == CheckStatus.DONE else None,
            reason="Nobody to ask" if status == N else "",
        )
        for kind, status in zip(CheckKind, statuses, strict=True)
    ]
    assert (
        set(
            school_referral_rule_problems(
                absence_school_days=days, all_checks_complete=complete, checks=checks
            )
        )
        == expected
    )
    if expected:
        problems = errors_of(
            lambda: refer(
                school_user, entry, checks=checks, complete=complete, absence_school_days=days
            )
        )
        assert set(problems) == expected
        assert "fewer than 10 school days" in " ".join(m for ms in problems.values() for m in ms)
        assert not Referral.objects.exists()
    else:
        refer(school_user, entry, checks=checks, complete=complete, absence_school_days=days)
        assert Referral.objects.count() == 1


REQUIRED = [
    ("given_names", "", "Enter the child's first name"),
    ("family_name", " ", "Enter the child's last name"),
    ("dob", None, "Enter the child's date of birth"),
    ("address", "", "Enter the child's address"),
    ("reason", "", "Say why you are referring the child"),
    ("date_last_attendance", None, "Enter the date the child last attended"),
    ("absence_school_days", None, "Enter the number of school days"),
    ("safeguarding_concern", "", "Select whether there is a safeguarding concern"),
    ("upn", "A123456789001", "is not a valid UPN"),
    ("dob", dt.date(2099, 1, 1), "Date of birth must be in the past"),
    ("parents_carers", [], "Enter a phone number or email address for at least one parent"),
    (
        "parents_carers",
        [{"name": "", "relationship": "aunt", "phone": "1", "email": "x"}],
        "Enter the name of parent or carer 1",
    ),
]


@pytest.mark.parametrize(("field", "value", "message"), REQUIRED)
def test_school_referral_field_problems(
    school_user: Any, entry: Any, field: str, value: Any, message: str
) -> None:
    problems = errors_of(lambda: refer(school_user, entry, **{field: value}))
    assert message in " ".join(problems[field])
    assert not Referral.objects.exists()
    assert not AuditEvent.objects.filter(object_type="referrals.referral").exists()


def test_safeguarding_yes_needs_details(school_user: Any, entry: Any) -> None:
    problems = errors_of(lambda: refer(school_user, entry, safeguarding_concern="yes"))
    assert problems["safeguarding_details"] == ["Describe the safeguarding concern"]


CHECK_CASES = [
    (CheckInput(kind="telephoned", status="done"), "checks.telephoned.done_on", "Enter the date"),
    (CheckInput(kind="friends", status="not_possible"), "checks.friends.reason", "Say why"),
    (CheckInput(kind="friends", status=""), "checks.friends.status", "Select whether"),
    (
        CheckInput(kind="home_visits", status="done", done_on=dt.date(2099, 1, 1)),
        "checks.home_visits.done_on",
        "today or in the past",
    ),
]


@pytest.mark.parametrize(("bad", "key", "message"), CHECK_CASES)
def test_each_check_is_validated(
    school_user: Any, entry: Any, bad: CheckInput, key: str, message: str
) -> None:
    checks = [c for c in all_checks() if c.kind != bad.kind] + [bad]
    problems = errors_of(lambda: refer(school_user, entry, checks=checks))
    assert message in " ".join(problems[key])


def test_a_missing_check_is_named(school_user: Any, entry: Any) -> None:
    checks = [c for c in all_checks() if c.kind != CheckKind.SLO_DISCUSSED]
    problems = errors_of(lambda: refer(school_user, entry, checks=checks))
    assert list(problems) == ["checks.slo_discussed.status"]


def test_a_school_cannot_refer_from_another_schools_roll(make_user: Any, entry: Any) -> None:
    other = make_user(Role.SCHOOL_USER, organisation=SchoolFactory.create())
    RollSnapshotFactory.create(school=other.organisation)
    with pytest.raises(PermissionDenied):
        refer(other, entry)
    assert not Referral.objects.exists()


def test_a_school_refers_only_from_its_latest_roll(school_user: Any, entry: Any) -> None:
    RollSnapshotFactory.create(school=school_user.organisation, taken_on=dt.date(2026, 11, 1))
    with pytest.raises(PermissionDenied):
        refer(school_user, entry)


@pytest.mark.parametrize("role", [Role.AGENCY_USER, Role.CME_OFFICER, Role.SLO])
def test_only_school_users_make_school_referrals(make_user: Any, entry: Any, role: Role) -> None:
    user = make_user(role, organisation=entry.snapshot.school)
    with pytest.raises(PermissionDenied):
        refer(user, entry)


def test_nothing_is_half_saved_when_a_write_fails(
    school_user: Any, entry: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(SchoolCheck.objects, "bulk_create", explode)
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError):
        refer(school_user, entry)
    assert not Referral.objects.exists()
    assert AuditEvent.objects.count() == before


# --- agency and public ------------------------------------------------------------------


def test_an_agency_refers_a_child(make_user: Any) -> None:
    agency = AgencyFactory.create()
    user = make_user(Role.AGENCY_USER, organisation=agency)
    referral = referral_agency_create(actor=Actor(user=user), **agency_fields())
    assert (referral.route, referral.referring_organisation, referral.situation) == (
        "agency",
        agency,
        "not_on_roll",
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("how_met", "", "Say how your agency met the child"),
        ("situation", "", "Select whether the child is not on a school roll"),
        ("reason", "", "Say why you are referring the child"),
        ("given_names", "", "Enter the child's first name"),
        ("safeguarding_concern", "yes", "Describe the safeguarding concern"),
    ],
)
def test_agency_referral_problems(make_user: Any, field: str, value: str, message: str) -> None:
    user = make_user(Role.AGENCY_USER, organisation=AgencyFactory.create())
    key = "safeguarding_details" if field == "safeguarding_concern" else field
    problems = errors_of(
        lambda: referral_agency_create(actor=Actor(user=user), **agency_fields(**{field: value}))
    )
    assert message in " ".join(problems[key])


@pytest.mark.parametrize("role", [Role.SCHOOL_USER, Role.CME_OFFICER])
def test_only_agency_users_make_agency_referrals(make_user: Any, role: Role) -> None:
    user = make_user(role)
    with pytest.raises(PermissionDenied):
        referral_agency_create(actor=Actor(user=user), **agency_fields())


def test_a_public_report_keeps_no_user(make_user: Any) -> None:
    referral = referral_public_create(
        actor=Actor(user=None, ip_address="198.51.100.7"),
        given_names="Sam",
        address="Outside the shops on Mill Lane",
        reason="Sees him at home every school day",
    )
    assert referral.route == "public"
    assert referral.referred_by is None
    event = AuditEvent.objects.get(object_type="referrals.referral", object_id=str(referral.pk))
    assert event.actor is None
    assert event.actor_label == "member of the public"
    assert event.ip_address == "198.51.100.7"


def test_a_public_report_needs_the_minimum() -> None:
    problems = errors_of(lambda: referral_public_create(actor=Actor(user=None), given_names=""))
    assert set(problems) == {"given_names", "reason", "address"}
