"""The safeguarding forms' rules as pure functions (forms.md §3, §4; rules.md §6)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmetrack.rules import next_dormant_review
from cmetrack.safeguarding.rules import (
    SCREENING_QUESTIONS,
    QuestionGroup,
    RiskFactor,
    avoidance_indicators,
    earliest_base_due_from,
    latest_base_due_by,
    missing_supporting_information,
    risk_level_actions,
    screening_recommendations,
    week_end,
)

CRIME = [q.key for q in SCREENING_QUESTIONS if q.group == QuestionGroup.CRIME]
SOCIAL = [q.key for q in SCREENING_QUESTIONS if q.group == QuestionGroup.SOCIAL_CARE]
AVOID = [q.key for q in SCREENING_QUESTIONS if q.group == QuestionGroup.AVOIDANCE]


def test_the_form_has_its_questions_and_fifteen_factors() -> None:
    assert (len(CRIME), len(SOCIAL), len(AVOID)) == (7, 3, 4)
    assert [f.value for f in RiskFactor] == list(range(1, 16))


@pytest.mark.parametrize(
    ("yes", "expected"),
    [
        ([], []),
        (["unknowns only"], []),
        *[([k], ["police", "designated_person"]) for k in CRIME],
        *[([k], ["social_care"]) for k in SOCIAL],
        *[([k], []) for k in AVOID],
        (["sudden_behaviour", "cp_plan"], ["police", "designated_person", "social_care"]),
    ],
)
def test_screening_recommendations(yes: list[str], expected: list[str]) -> None:
    answers = {q.key: "unknown" for q in SCREENING_QUESTIONS}
    answers.update({k: "yes" for k in yes if k in answers})
    assert [r.key for r in screening_recommendations(answers)] == expected


def test_a_recommendation_names_its_reasons() -> None:
    recs = screening_recommendations({"older_associates": "yes", "risk_of_harm": "yes"})
    assert recs[0].title == "Refer to the police"
    assert len(recs[0].because) == 2
    assert screening_recommendations({"looked_after": "yes"})[0].title == (
        "Inform children's social care immediately"
    )


def test_avoidance_indicators_are_listed() -> None:
    assert avoidance_indicators({"mobility": "yes", "immigration": "no"}) == [
        "History of mobility?"
    ]


def test_actions_for_each_risk_level() -> None:
    assert risk_level_actions("low") == []
    medium = risk_level_actions("medium")
    assert [a.title.split()[0] for a in medium] == ["Confirm", "Send", "Consider", "Complete"]
    high = risk_level_actions("high")
    # Education safeguarding advice first (due today), then the medium actions after it.
    assert high[0].title.startswith("Seek advice from the education safeguarding team")
    assert high[0].due_in_days == 0
    assert [a.title for a in high[1:]] == [a.title for a in medium]
    assert min(a.due_in_days for a in high[1:]) > high[0].due_in_days


def test_supporting_information_is_required_for_yes() -> None:
    answers = {1: ("yes", ""), 2: ("yes", "Told by the school"), 3: ("no", ""), 4: ("yes", " ")}
    assert missing_supporting_information(answers) == [1, 4]


@pytest.mark.parametrize(
    ("day", "latest"),
    [
        # Due by 28 Feb 2025: everything last reviewed up to 31 January.
        (dt.date(2025, 2, 28), dt.date(2025, 1, 31)),
        (dt.date(2025, 2, 27), dt.date(2025, 1, 27)),
        (dt.date(2024, 2, 29), dt.date(2024, 1, 31)),
        (dt.date(2024, 2, 28), dt.date(2024, 1, 28)),
        (dt.date(2025, 3, 1), dt.date(2025, 2, 1)),
        (dt.date(2025, 4, 30), dt.date(2025, 3, 31)),
    ],
)
def test_latest_base_due_by(day: dt.date, latest: dt.date) -> None:
    assert latest_base_due_by(day) == latest


@settings(database=None, max_examples=300)
@given(day=st.dates(dt.date(2000, 1, 1), dt.date(2100, 12, 31)))
def test_the_ranges_match_the_rule(day: dt.date) -> None:
    """A base date is due by ``day`` exactly when it is at most latest_base_due_by(day), and
    due from ``day`` exactly when it is at least earliest_base_due_from(day)."""
    latest, earliest = latest_base_due_by(day), earliest_base_due_from(day)
    for back in range(20, 40):
        base = day - dt.timedelta(days=back)
        assert (next_dormant_review(base) <= day) == (base <= latest)
        assert (next_dormant_review(base) >= day) == (base >= earliest)


def test_week_end_is_sunday() -> None:
    assert week_end(dt.date(2026, 11, 25)) == dt.date(2026, 11, 29)
    assert week_end(dt.date(2026, 11, 29)) == dt.date(2026, 11, 29)
