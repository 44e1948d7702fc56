"""The 2026 Act's consent rule as a pure function (table-driven)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cmetrack.registers.consent import (
    ConsentDecision,
    ConsentGround,
    consent_grounds,
    withdrawal_for_home_education,
)

G = ConsentGround


@pytest.mark.parametrize(
    ("enquiries", "plan", "special", "expected"),
    [
        (False, False, False, set()),
        (True, False, False, {G.CHILD_PROTECTION_ENQUIRIES}),
        (False, True, False, {G.CHILD_PROTECTION_PLAN}),
        (False, False, True, {G.SPECIAL_SCHOOL}),
        (True, True, True, set(G)),
    ],
)
def test_grounds(enquiries: bool, plan: bool, special: bool, expected: set[G]) -> None:
    assert (
        consent_grounds(
            child_protection_enquiries=enquiries,
            child_protection_plan=plan,
            special_school=special,
        )
        == expected
    )


@pytest.mark.parametrize(
    ("grounds", "decision", "allowed"),
    [
        (frozenset(), None, True),
        (frozenset(), ConsentDecision.REFUSED, True),  # consent not needed at all
        (frozenset({G.SPECIAL_SCHOOL}), None, False),
        (frozenset({G.SPECIAL_SCHOOL}), ConsentDecision.PENDING, False),
        (frozenset({G.SPECIAL_SCHOOL}), ConsentDecision.REFUSED, False),
        (frozenset({G.SPECIAL_SCHOOL}), ConsentDecision.GRANTED, True),
        (frozenset({G.CHILD_PROTECTION_ENQUIRIES}), "pending", False),
        (frozenset({G.CHILD_PROTECTION_ENQUIRIES, G.CHILD_PROTECTION_PLAN}), "granted", True),
    ],
)
def test_withdrawal(grounds: frozenset[G], decision: str | None, allowed: bool) -> None:
    answer = withdrawal_for_home_education(grounds=grounds, decision=decision)
    assert answer.allowed is allowed


def test_reason_names_the_grounds_and_the_deletion_rule() -> None:
    answer = withdrawal_for_home_education(
        grounds=frozenset({G.SPECIAL_SCHOOL, G.CHILD_PROTECTION_ENQUIRIES}), decision=None
    )
    assert "special school" in answer.reason
    assert "child protection enquiries" in answer.reason
    assert "ground (f)" in answer.reason


@given(
    enquiries=st.booleans(),
    plan=st.booleans(),
    special=st.booleans(),
    decision=st.sampled_from([None, *ConsentDecision]),
)
def test_allowed_exactly_when_no_ground_or_consent_given(
    enquiries: bool, plan: bool, special: bool, decision: ConsentDecision | None
) -> None:
    grounds = consent_grounds(
        child_protection_enquiries=enquiries, child_protection_plan=plan, special_school=special
    )
    answer = withdrawal_for_home_education(grounds=grounds, decision=decision)
    assert answer.allowed == (not (enquiries or plan or special) or decision == "granted")
    assert answer.reason
