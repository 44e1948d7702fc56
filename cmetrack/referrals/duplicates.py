"""Possible duplicates of a referred child: the seam the matching engine will fill.

:func:`possible_duplicates` is the only entry point; callers depend on its signature and
on :class:`PossibleDuplicate`, never on how candidates are found. For now it finds:

* the same UPN, on a child's record or among its former UPNs;
* a similar name (normalised, Jaro-Winkler) with the same date of birth, or with the day
  and month swapped (a common typing error).

Candidates come only from indexed lookups (UPN, former UPN, date of birth, a range on the
family name's first letters), never from a scan of every child. At most
``CANDIDATE_LIMIT`` are scored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q

from cmetrack.cases.lifecycle import OPEN_STATES
from cmetrack.cases.models import Case
from cmetrack.matching.normalise import jaro_winkler, normalise_name
from cmetrack.people.models import Child, FormerUpn
from cmetrack.rules import normalise_upn

#: At most this many candidates are scored for one referral.
CANDIDATE_LIMIT = 500
#: At most this many possible duplicates are returned.
RESULT_LIMIT = 10
#: Name similarity (0..1) at or above which two names count as similar.
SIMILAR_NAME = 0.85


@dataclass(frozen=True)
class PossibleDuplicate:
    child: Child
    score: float
    reasons: list[str]
    open_cases: list[Case] = field(default_factory=list)


def name_similarity(a: str, b: str) -> float:
    """The best Jaro-Winkler similarity between the names' words (or whole names)."""
    na, nb = normalise_name(a), normalise_name(b)
    if not na or not nb:
        return 0.0
    best = jaro_winkler(na, nb)
    for x in na.split():
        for y in nb.split():
            best = max(best, jaro_winkler(x, y))
    return best


def first_name_similarity(a: str, b: str) -> float:
    """Similarity of the first given names (twins share everything but these)."""
    na, nb = normalise_name(a).split(), normalise_name(b).split()
    if not na or not nb:
        return 0.0
    return jaro_winkler(na[0], nb[0])


def swapped_dob(dob: dt.date) -> dt.date | None:
    """The date with day and month swapped, if that is a different real date."""
    if dob.day > 12 or dob.day == dob.month:
        return None
    try:
        return dob.replace(month=dob.day, day=dob.month)
    except ValueError:
        return None


def _prefix_ranges(family_name: str) -> Q:
    """Family names starting with the first three letters, as index range scans."""
    norm = normalise_name(family_name).replace(" ", "")
    if len(norm) < 2:
        return Q(pk__in=[])
    prefix = norm[:3]
    q = Q(pk__in=[])
    for variant in {prefix.capitalize(), prefix.upper(), prefix}:
        upper = variant[:-1] + chr(ord(variant[-1]) + 1)
        q |= Q(legal_family_name__gte=variant, legal_family_name__lt=upper)
    return q


def possible_duplicates(
    *,
    given_names: str,
    family_name: str,
    dob: dt.date | None,
    upn: str | None,
    postcode: str | None,
) -> list[PossibleDuplicate]:
    """Children who may be the one described, most likely first, with their open cases."""
    upn = normalise_upn(upn) if upn else ""
    lookup = Q(pk__in=[])
    if upn:
        lookup |= Q(upn=upn) | Q(pk__in=FormerUpn.objects.filter(upn=upn).values("child_id"))
    dobs = [d for d in (dob, swapped_dob(dob) if dob else None) if d is not None]
    if dobs:
        lookup |= Q(dob__in=dobs)
    if family_name:
        # A similar name counts only with the same (or swapped) date of birth, found above,
        # or when a date of birth is missing on one side: so with a date of birth, look by
        # name only among children whose date of birth is not known.
        by_name = _prefix_ranges(family_name)
        lookup |= by_name & Q(dob__isnull=True) if dobs else by_name
    candidates = (
        Child.objects.filter(lookup)
        .prefetch_related(
            "former_upns",
            "addresses",
            Prefetch(
                "cases",
                queryset=Case.objects.filter(state__in=OPEN_STATES).order_by("pk"),
                to_attr="open_case_list",
            ),
        )
        .order_by("pk")[:CANDIDATE_LIMIT]
    )
    postcode_norm = (postcode or "").replace(" ", "").upper()
    found: list[PossibleDuplicate] = []
    for child in candidates:
        scored = _score(child, given_names, family_name, dob, upn, postcode_norm)
        if scored is not None:
            found.append(scored)
    found.sort(key=lambda d: (-d.score, d.child.pk))
    return found[:RESULT_LIMIT]


def _score(
    child: Child,
    given_names: str,
    family_name: str,
    dob: dt.date | None,
    upn: str,
    postcode: str,
) -> PossibleDuplicate | None:
    reasons: list[str] = []
    score = 0.0
    if upn and child.upn == upn:
        score, reasons = 1.0, [f"Same UPN ({upn})"]
    elif upn and any(f.upn == upn for f in child.former_upns.all()):
        score, reasons = 0.95, [f"The UPN {upn} is a former UPN of this child"]
    family = name_similarity(family_name, child.legal_family_name)
    first = first_name_similarity(given_names, child.legal_given_names)
    names_similar = family >= SIMILAR_NAME and first >= SIMILAR_NAME
    if dob is not None and child.dob is not None:
        if child.dob == dob:
            dob_score, dob_reason = 1.0, "Same date of birth"
        elif child.dob == swapped_dob(dob):
            dob_score, dob_reason = 0.8, "Date of birth with day and month swapped"
        else:
            dob_score, dob_reason = 0.0, ""
    else:
        dob_score, dob_reason = 0.0, ""
    if names_similar:
        name_reason = (
            "Same name"
            if family == 1.0 and first == 1.0
            else f"Similar name ({child.legal_given_names} {child.legal_family_name})"
        )
        if dob_score:
            score = max(score, 0.35 * family + 0.25 * first + 0.4 * dob_score)
            reasons += [name_reason, dob_reason]
        elif dob is None or child.dob is None:
            # Nothing to tell them apart but the name: a weak match.
            score = max(score, 0.3 * (family + first))
            reasons += [name_reason, "Date of birth not known for one of them"]
    if not reasons:
        return None
    if postcode and any(
        a.postcode.replace(" ", "").upper() == postcode
        for a in child.addresses.all()
        if not a.is_restricted
    ):
        reasons.append("An address with the same postcode")
        score = min(1.0, score + 0.05)
    open_cases: list[Case] = list(getattr(child, "open_case_list", []))
    if open_cases:
        reasons.append("Has an open case: " + ", ".join(c.reference for c in open_cases))
    return PossibleDuplicate(
        child=child, score=round(score, 3), reasons=reasons, open_cases=open_cases
    )
