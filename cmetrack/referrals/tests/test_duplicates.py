"""Possible duplicates at triage come from the matching engine: the child is found
through UPNs, nicknames, transliterations, swapped day and month, a changed surname; the
reasons are the engine's per-field explanations; twins and brothers or sisters are not
taken for the child; and the triage page shows only what the user may see."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.models import ReferralRoute
from cmetrack.cases.services import case_open
from cmetrack.matching.services import clear_indexes
from cmetrack.people.models import Address, ChildAlias, FormerUpn
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.referrals.duplicates import possible_duplicates
from cmetrack.referrals.selectors import triage_duplicates
from cmetrack.referrals.services import referral_record

pytestmark = pytest.mark.django_db
DOB = dt.date(2015, 3, 14)


@pytest.fixture(autouse=True)
def fresh_indexes():
    clear_indexes()
    yield
    clear_indexes()


def find(**kw: Any) -> list[Any]:
    args: dict[str, Any] = {
        "given_names": "",
        "family_name": "",
        "dob": None,
        "upn": None,
        "postcode": None,
    }
    args.update(kw)
    return possible_duplicates(**args)


def only(found: list[Any]) -> Any:
    assert len(found) == 1, [(d.child, d.score, d.reasons) for d in found]
    return found[0]


def test_same_upn_is_a_match_whatever_the_name() -> None:
    child = ChildFactory.create(
        upn="H801200001001", legal_given_names="Zoe", legal_family_name="Zed", dob=DOB
    )
    match = only(find(given_names="Zoe", family_name="Zed", upn="h801200001001"))
    assert match.child == child
    assert match.score > 0.99
    assert "UPN or former UPN matches" in match.reasons


def test_a_former_upn_matches() -> None:
    child = ChildFactory.create(
        upn="B801200005001", legal_given_names="Zoe", legal_family_name="Zed", dob=DOB
    )
    FormerUpn.objects.create(child=child, upn="H801200001001")
    match = only(find(given_names="Zoe", family_name="Zed", upn="H801200001001"))
    assert match.child == child
    assert "UPN or former UPN matches" in match.reasons


def test_a_transliterated_given_name_with_the_same_dob() -> None:
    child = ChildFactory.create(
        legal_given_names="Aleksandr", legal_family_name="Kowalski", dob=DOB
    )
    match = only(find(given_names="Alexander", family_name="Kowalski", dob=DOB))
    assert match.child == child
    assert any("is a known nickname or other spelling of" in r for r in match.reasons)
    assert "Surname matches" in match.reasons
    assert "Date of birth matches" in match.reasons
    assert match.score > 0.9


def test_a_nickname_is_the_same_child() -> None:
    child = ChildFactory.create(legal_given_names="Robert", legal_family_name="Hughes", dob=DOB)
    match = only(find(given_names="Bob", family_name="Hughes", dob=DOB))
    assert match.child == child
    assert any("is a known nickname or other spelling of" in r for r in match.reasons)


def test_day_and_month_swapped() -> None:
    child = ChildFactory.create(
        legal_given_names="Ola", legal_family_name="Kowalska", dob=dt.date(2015, 4, 3)
    )
    match = only(find(given_names="Ola", family_name="Kowalska", dob=dt.date(2015, 3, 4)))
    assert match.child == child
    assert "Date of birth matches with day and month swapped" in match.reasons


def test_a_changed_surname_is_found_through_the_alias_and_the_address() -> None:
    child = ChildFactory.create(legal_given_names="Maisie", legal_family_name="Evans", dob=DOB)
    ChildAlias.objects.create(child=child, alias_type="previous_name", family_name="Hughes")
    Address.objects.create(child=child, line1="9 Elm Close", postcode="EX7 9DD")
    match = only(find(given_names="Maisie", family_name="Hughes", dob=DOB, postcode="ex7 9dd"))
    assert match.child == child
    assert "Matched on a recorded alias" in match.reasons
    assert "Postcode matches" in match.reasons


def test_a_twin_is_not_the_same_child() -> None:
    ChildFactory.create(legal_given_names="Oliver", legal_family_name="Kowalski", dob=DOB)
    assert find(given_names="Amelia", family_name="Kowalski", dob=DOB) == []


def test_a_brother_or_sister_is_not_the_same_child() -> None:
    ChildFactory.create(
        legal_given_names="Oliver", legal_family_name="Kowalski", dob=dt.date(2013, 6, 2)
    )
    assert find(given_names="Amelia", family_name="Kowalski", dob=DOB) == []


def test_the_same_name_with_another_dob_is_at_most_unlikely() -> None:
    """Same names, born three years apart: not a possible duplicate. The calibrated engine
    may still show it as "Unlikely" (a date of birth can be typed wrong), saying why."""
    ChildFactory.create(
        legal_given_names="Ola", legal_family_name="Kowalska", dob=dt.date(2012, 1, 1)
    )
    for match in find(given_names="Ola", family_name="Kowalska", dob=DOB):
        assert match.band_label == "Unlikely"
        assert match.score < 0.2
        assert "Date of birth differs" in match.reasons


def test_open_cases_are_reported_with_the_reasons() -> None:
    child = ChildFactory.create(legal_given_names="Ola", legal_family_name="Kowalska", dob=DOB)
    Address.objects.create(child=child, line1="1 Oak Road", postcode="EX1 4QT")
    case = case_open(
        actor=Actor.system("test"),
        child=child,
        route=ReferralRoute.AGENCY,
        date_referred=dt.date(2026, 10, 1),
    )
    match = only(find(given_names="Ola", family_name="Kowalska", dob=DOB, postcode="ex14qt"))
    assert match.open_cases == [case]
    assert f"Has an open case: {case.reference}" in match.reasons
    assert "Postcode matches" in match.reasons


def test_the_most_likely_comes_first() -> None:
    weak = ChildFactory.create(  # no UPN recorded: a different UPN would count against
        upn=None, legal_given_names="Ola", legal_family_name="Kowalsky", dob=dt.date(2015, 4, 3)
    )
    strong = ChildFactory.create(
        upn="H801200001001", legal_given_names="Ola", legal_family_name="Kowalska", dob=DOB
    )
    matches = find(
        given_names="Ola", family_name="Kowalska", dob=dt.date(2015, 3, 4), upn="H801200001001"
    )
    # The agreeing UPN identifies the child: the look-alike is then too unlikely to show
    # (the probabilities of the candidates and "none of these" add up to one).
    assert [m.child for m in matches] == [strong]
    assert matches[0].score > 0.999
    # Without the UPN both are possible, the closer first, and together under one.
    matches = find(given_names="Ola", family_name="Kowalska", dob=dt.date(2015, 3, 4))
    assert {m.child for m in matches} == {strong, weak}
    assert matches[0].score >= matches[1].score
    assert sum(m.score for m in matches) <= 1


def test_a_record_without_a_dob_is_found_by_name() -> None:
    child = ChildFactory.create(
        legal_given_names="Olenka", legal_family_name="Wisniewska", dob=None
    )
    match = only(find(given_names="Olenka", family_name="Wisniewska", dob=DOB))
    assert match.child == child
    assert "Date of birth matches" not in match.reasons


def test_a_new_child_changes_what_is_found() -> None:
    """The engine's index follows the register: a child added after a first check is
    found by the next."""
    assert find(given_names="Ola", family_name="Kowalska", dob=DOB) == []
    child = ChildFactory.create(legal_given_names="Ola", legal_family_name="Kowalska", dob=DOB)
    assert only(find(given_names="Ola", family_name="Kowalska", dob=DOB)).child == child


def test_triage_shows_only_the_children_the_user_may_see(make_user: Any) -> None:
    """An SLO triaging a school referral is told a match exists outside their access but
    not shown it, and nothing is audited as read; a CME officer sees it, audited."""
    school = SchoolFactory.create()
    known = ChildFactory.create(legal_given_names="Ola", legal_family_name="Kowalska", dob=DOB)
    referral = referral_record(
        actor=Actor.system("t"),
        route=ReferralRoute.SCHOOL,
        given_names="Ola",
        family_name="Kowalska",
        reason="r",
        dob=DOB,
        school=school,
    )
    slo = make_user(Role.SLO)
    slo.linked_schools.set([school])
    shown, hidden = triage_duplicates(actor=Actor(user=slo), referral=referral)
    assert shown == []
    assert hidden
    assert not AuditEvent.objects.filter(child_id=known.pk, action="view").exists()
    officer = make_user(Role.CME_OFFICER)
    shown, hidden = triage_duplicates(actor=Actor(user=officer), referral=referral)
    assert [d.child for d in shown] == [known]
    assert not hidden
    assert AuditEvent.objects.filter(child_id=known.pk, action="view", actor=officer).exists()
