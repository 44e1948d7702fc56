"""Possible duplicates of a referred child, found by the matching engine.

:func:`possible_duplicates` is the only entry point; callers depend on its signature and
on :class:`PossibleDuplicate`, never on how candidates are found. The finding is done by
:func:`cmetrack.matching.services.find_possible_duplicates`: the same index, model and
scorer as the find-a-child search, over the children the authority holds (their aliases,
former UPNs, parents and unrestricted addresses), so a nickname, a transliteration, a
swapped day and month or a changed surname is found here as it is there, and a twin or a
brother or sister is kept apart. Each reason shown is the engine's explanation of one
field ("Given name is a known nickname or other spelling", "Date of birth matches with
day and month swapped").

Not scoped here: the caller (:func:`cmetrack.referrals.selectors.triage_duplicates`)
removes what the user may not see and audits what is shown.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Prefetch

from cmetrack.cases.lifecycle import OPEN_STATES
from cmetrack.cases.models import Case
from cmetrack.matching.services import find_possible_duplicates
from cmetrack.people.models import Child
from cmetrack.rules import normalise_upn

#: At most this many possible duplicates are returned.
RESULT_LIMIT = 10
#: Children less likely than this to be the one referred are not shown.
MIN_PROBABILITY = 0.05


@dataclass(frozen=True)
class PossibleDuplicate:
    child: Child
    score: float  # the engine's probability that it is the same child, 0..1
    reasons: list[str]
    open_cases: list[Case] = field(default_factory=list)
    band_label: str = ""  # "Strong match", "Possible — check" or "Unlikely"
    equally_good: bool = False  # another child matches as well (twins?)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def possible_duplicates(
    *,
    given_names: str,
    family_name: str,
    dob: dt.date | None,
    upn: str | None,
    postcode: str | None,
    sex: str = "",
) -> list[PossibleDuplicate]:
    """Children who may be the one described, most likely first, with their open cases
    and the engine's reason for each field compared."""
    matches = find_possible_duplicates(
        given_names or "",
        family_name or "",
        dob,
        normalise_upn(upn) if upn else None,
        postcode,
        sex=sex or "",
        limit=RESULT_LIMIT,
        min_probability=MIN_PROBABILITY,
    )
    if not matches:
        return []
    open_cases = {
        child.pk: list(getattr(child, "open_case_list", []))
        for child in Child.objects.filter(pk__in=[m.child.pk for m in matches]).prefetch_related(
            Prefetch(
                "cases",
                queryset=Case.objects.filter(state__in=OPEN_STATES).order_by("pk"),
                to_attr="open_case_list",
            )
        )
    }
    out = []
    for m in matches:
        cases = open_cases.get(m.child.pk, [])
        reasons = [_sentence(r) for r in m.reasons]
        if cases:
            reasons.append("Has an open case: " + ", ".join(c.reference for c in cases))
        out.append(
            PossibleDuplicate(
                child=m.child,
                score=round(m.probability, 3),
                reasons=reasons,
                open_cases=cases,
                band_label=m.band_label,
                equally_good=m.equally_good,
            )
        )
    return out
