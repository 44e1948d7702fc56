"""The consent rule for home education (Children's Wellbeing and Schools Act 2026).

A parent may not withdraw a child from school to educate them at home without the local
authority's consent when the child is the subject of child protection enquiries (Children
Act 1989 s47) or of a child protection plan, or is a registered pupil at a special school.
Until the authority consents, the school may not delete the child from its roll on ground
(f) (rules.md §5), and the child is not put on the home-education list as withdrawn.

Pure functions, no Django and no clock: the services and the deletion-return importer ask
them and enforce the answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class ConsentGround(StrEnum):
    """Why a withdrawal for home education needs the authority's consent."""

    CHILD_PROTECTION_ENQUIRIES = "cp_enquiries"
    CHILD_PROTECTION_PLAN = "cp_plan"
    SPECIAL_SCHOOL = "special_school"

    @property
    def label(self) -> str:
        return GROUND_LABELS[self]


GROUND_LABELS = {
    ConsentGround.CHILD_PROTECTION_ENQUIRIES: "subject to child protection enquiries (s47)",
    ConsentGround.CHILD_PROTECTION_PLAN: "subject to a child protection plan",
    ConsentGround.SPECIAL_SCHOOL: "a registered pupil at a special school",
}


class ConsentDecision(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    REFUSED = "refused"


def consent_grounds(
    *, child_protection_enquiries: bool, child_protection_plan: bool, special_school: bool
) -> frozenset[ConsentGround]:
    """The grounds on which withdrawing this child for home education needs consent."""
    grounds: set[ConsentGround] = set()
    if child_protection_enquiries:
        grounds.add(ConsentGround.CHILD_PROTECTION_ENQUIRIES)
    if child_protection_plan:
        grounds.add(ConsentGround.CHILD_PROTECTION_PLAN)
    if special_school:
        grounds.add(ConsentGround.SPECIAL_SCHOOL)
    return frozenset(grounds)


@dataclass(frozen=True)
class ConsentAnswer:
    allowed: bool
    reason: str


def _grounds_text(grounds: Iterable[ConsentGround]) -> str:
    labels = [g.label for g in sorted(grounds)]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def withdrawal_for_home_education(
    *, grounds: frozenset[ConsentGround], decision: ConsentDecision | str | None
) -> ConsentAnswer:
    """May the child be withdrawn (and deleted from the roll on ground (f))?

    ``decision`` is the authority's latest decision on a consent request for this child at
    this school (``None`` when nobody has asked). No grounds: always allowed. With grounds:
    only once consent is granted; pending or refused consent, or no request, blocks it.
    """
    if not grounds:
        return ConsentAnswer(True, "The authority's consent is not needed.")
    why = f"The child is {_grounds_text(grounds)}, so the authority must consent"
    if decision == ConsentDecision.GRANTED:
        return ConsentAnswer(True, f"{why}; it has consented.")
    if decision == ConsentDecision.REFUSED:
        return ConsentAnswer(
            False,
            f"{why} and it has refused: the child stays on the school's roll "
            "and may not be deleted on ground (f).",
        )
    if decision == ConsentDecision.PENDING:
        return ConsentAnswer(
            False,
            f"{why}; the request is waiting for a decision. The school may not delete the "
            "child on ground (f) until consent is given.",
        )
    return ConsentAnswer(
        False,
        f"{why}, and nobody has asked for it. Record a consent request; the school may not "
        "delete the child on ground (f) until consent is given.",
    )
