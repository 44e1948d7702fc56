"""The safeguarding forms as data, and what their answers set in motion (forms.md §3, §4).

Pure: no database, no clock. The services apply these to stored cases; the tests check
them table by table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import models

from cmetrack.rules import next_dormant_review


class Answer(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    UNKNOWN = "unknown", "Unknown"


class QuestionGroup(models.TextChoices):
    CRIME = "crime", "Possible crime"
    SOCIAL_CARE = "social_care", "Social care"
    AVOIDANCE = "avoidance", "Avoiding contact"


@dataclass(frozen=True)
class Question:
    key: str
    group: QuestionGroup
    text: str


#: Vulnerability screening (forms.md §4), in the order of the form.
SCREENING_QUESTIONS: tuple[Question, ...] = (
    Question("sudden_behaviour", QuestionGroup.CRIME, "Very sudden and unexpected behaviour?"),
    Question("missing_with_family", QuestionGroup.CRIME, "Gone missing with the family?"),
    Question("missing_without_family", QuestionGroup.CRIME, "Gone missing without the family?"),
    Question(
        "risk_of_harm",
        QuestionGroup.CRIME,
        "A health, religious or cultural reason to believe the child is at risk of harm "
        "(for example, forced marriage)?",
    ),
    Question(
        "past_suspicions",
        QuestionGroup.CRIME,
        "Past suspicions about the child and family that, with the sudden disappearance, "
        "cause worry?",
    ),
    Question(
        "older_associates",
        QuestionGroup.CRIME,
        "Past concerns about association with significantly older young people or adults?",
    ),
    Question(
        "significant_incident",
        QuestionGroup.CRIME,
        "A significant incident before the unexplained absence?",
    ),
    Question("cp_plan", QuestionGroup.SOCIAL_CARE, "Subject of a child protection plan?"),
    Question("looked_after", QuestionGroup.SOCIAL_CARE, "Looked after by the local authority?"),
    Question(
        "social_care_involvement", QuestionGroup.SOCIAL_CARE, "Current social care involvement?"
    ),
    Question("past_social_services", QuestionGroup.AVOIDANCE, "Past social services involvement?"),
    Question("mobility", QuestionGroup.AVOIDANCE, "History of mobility?"),
    Question("immigration", QuestionGroup.AVOIDANCE, "Immigration issues?"),
    Question(
        "attendance_interventions",
        QuestionGroup.AVOIDANCE,
        "Past school or local authority attendance interventions (visits, parenting "
        "contracts, fast-track)?",
    ),
)
QUESTIONS_BY_KEY: dict[str, Question] = {q.key: q for q in SCREENING_QUESTIONS}
#: Choices for the stored answers' question field.
SCREENING_CHOICES: list[tuple[str, str]] = [(q.key, q.text) for q in SCREENING_QUESTIONS]


@dataclass(frozen=True)
class Recommendation:
    """What the screening recommends, and the task it becomes (due ``due_in_days`` on)."""

    key: str
    title: str
    text: str
    because: tuple[str, ...]
    due_in_days: int = 0


def screening_recommendations(answers: Mapping[str, str]) -> list[Recommendation]:
    """forms.md §4: any possible-crime Yes → refer to the police and inform the LA
    designated person; any social-care Yes → inform children's social care immediately."""

    def yes(group: QuestionGroup) -> tuple[str, ...]:
        return tuple(
            q.text for q in SCREENING_QUESTIONS if q.group == group and answers.get(q.key) == "yes"
        )

    out: list[Recommendation] = []
    if crime := yes(QuestionGroup.CRIME):
        out.append(
            Recommendation(
                "police",
                "Refer to the police",
                "There are indicators of a possible crime: refer the child to the police.",
                crime,
            )
        )
        out.append(
            Recommendation(
                "designated_person",
                "Inform the LA designated person (education welfare service)",
                "Tell the local authority's designated safeguarding person about the referral "
                "to the police.",
                crime,
            )
        )
    if social := yes(QuestionGroup.SOCIAL_CARE):
        out.append(
            Recommendation(
                "social_care",
                "Inform children's social care immediately",
                "The child is known to children's social care: inform them immediately, and "
                "the police as the local procedure says.",
                social,
            )
        )
    return out


def avoidance_indicators(answers: Mapping[str, str]) -> list[str]:
    """The avoiding-contact indicators answered Yes, for the case page."""
    return [
        q.text
        for q in SCREENING_QUESTIONS
        if q.group == QuestionGroup.AVOIDANCE and answers.get(q.key) == "yes"
    ]


# --- risk assessment (forms.md §3) ------------------------------------------------------


class RiskFactor(models.IntegerChoices):
    REFERRAL_CONCERNS = 1, "Safeguarding concerns on the CME referral?"
    INVESTIGATION_CONCERNS = 2, "Safeguarding concerns came to light during the investigation?"
    CRIME = 3, "Crime committed by anyone in the family and reported to the police?"
    CSE = 4, "Any of the children subject to child sexual exploitation?"
    DOMESTIC_ABUSE = 5, "Family fleeing domestic abuse?"
    FORCED_MARRIAGE = (
        6,
        "Any child of an age to consider forced marriage or honour-based violence?",
    )
    SOCIAL_SERVICES = 7, "Information about the family held by children's social services?"
    CAREERS = 8, "If age appropriate, information on the careers / post-16 database?"
    CONTACTED = 9, "All phone numbers and emails contacted?"
    DOOR_KNOCKED = 10, "Early Help or School Liaison Officer knocked on the door?"
    COUNCIL_MOVED = 11, "Borough/district council confirmed the family have moved?"
    BENEFITS = 12, "Benefit payments stopped for the family?"
    GP = 13, "GP contacted about whereabouts, concerns, last visit?"
    TRANSFER = (
        14,
        "Response to transfer-system messages, or follow-up with other agencies / LAs?",
    )
    HOME_OFFICE = 15, "Home Office / border agency check completed?"


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


RISK_LEVEL_MEANING: dict[str, str] = {
    RiskLevel.LOW: "No concerns for the child; no criminal activity.",
    RiskLevel.MEDIUM: "Some risks identified; there may have been a referral to social services.",
    RiskLevel.HIGH: "Substantial grounds to believe the child is at risk; police and/or social "
    "services involved.",
}


class SentTo(models.TextChoices):
    EDUCATION_SAFEGUARDING = "education_safeguarding", "Education safeguarding team"
    SOCIAL_SERVICES = "social_services", "Social services"
    POLICE_MISSING_PERSONS = "police_mpc", "Police missing-person co-ordinator"


@dataclass(frozen=True)
class LevelAction:
    """One action a risk level sets in motion; it becomes a task due ``due_in_days`` on."""

    title: str
    due_in_days: int


_MEDIUM_ACTIONS: tuple[LevelAction, ...] = (
    LevelAction("Confirm children's social services are aware of the concern", 2),
    LevelAction("Send a copy of the risk assessment to the police missing-person co-ordinator", 2),
    LevelAction("Consider a consultation with the central referral unit (optional)", 5),
    LevelAction(
        "Complete the inter-agency referral form if a referral to children's social care is needed",
        5,
    ),
)


def risk_level_actions(level: str) -> list[LevelAction]:
    """forms.md §3: what each level sets in motion, beyond the case going dormant with a
    monthly review. High: advice from the education safeguarding team first (due today),
    then the medium actions, each a day later than for medium."""
    if level == RiskLevel.MEDIUM:
        return list(_MEDIUM_ACTIONS)
    if level == RiskLevel.HIGH:
        first = LevelAction(
            "Seek advice from the education safeguarding team before any other action", 0
        )
        return [first, *(LevelAction(a.title, a.due_in_days + 1) for a in _MEDIUM_ACTIONS)]
    return []


def missing_supporting_information(answers: Mapping[int, tuple[str, str]]) -> list[int]:
    """The factors answered Yes without supporting information (which is then mandatory)."""
    return [
        int(f)
        for f, (answer, info) in sorted(answers.items())
        if answer == "yes" and not info.strip()
    ]


# --- dormant review dates (rules.md §6), as ranges a query can use -------------------------


def latest_base_due_by(day: dt.date) -> dt.date:
    """The latest "last review" date whose next review is due on or before ``day``.

    :func:`next_dormant_review` never goes backwards and is 28 to 31 days on, so the set of
    last-review dates due by ``day`` is everything up to this date."""
    for back in range(28, 32):
        base = day - dt.timedelta(days=back)
        if next_dormant_review(base) <= day:
            return base
    raise AssertionError("unreachable: a review is due at most 31 days on")  # pragma: no cover


def earliest_base_due_from(day: dt.date) -> dt.date:
    """The earliest "last review" date whose next review is due on or after ``day``."""
    for back in range(31, 27, -1):
        base = day - dt.timedelta(days=back)
        if next_dormant_review(base) >= day:
            return base
    raise AssertionError("unreachable: a review is due at least 28 days on")  # pragma: no cover


def week_end(day: dt.date) -> dt.date:
    """The Sunday of ``day``'s week (weeks run Monday to Sunday)."""
    return day + dt.timedelta(days=6 - day.weekday())
