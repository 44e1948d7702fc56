"""What the referral pathway adds to the registers below it (loaded by
``autodiscover_modules``): a welfare concern about a home-educated child opens a CME case
as a referral from the local authority team, triaged into a new case assigned to the
person recording it, or onto the child's open case as a repeat."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from cmetrack.audit.reads import child_lookup_register, child_rows_register
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import OPEN_STATES
from cmetrack.cases.models import Case, ReferralRoute
from cmetrack.people.models import Child
from cmetrack.registers.services import concern_case_opener_register

from .models import Referral
from .services import TriageDecision, TriageNotAllowed, referral_record, referral_triage

CONCERN_REASON = "Welfare concern about a home-educated child"


def welfare_concern_case(
    *, actor: Actor, child: Child, raised_by_whom: str, details: str
) -> tuple[Case, bool]:
    referral = referral_record(
        actor=actor,
        route=ReferralRoute.LA_TEAM,
        given_names=child.legal_given_names,
        family_name=child.legal_family_name,
        dob=child.dob,
        sex=child.sex,
        reason=f"{CONCERN_REASON}, raised by {raised_by_whom.strip()}: {details.strip()}"[:2000],
    )
    open_case = Case.objects.filter(child=child, state__in=OPEN_STATES).order_by("-pk").first()
    try:
        if open_case is not None:
            referral_triage(
                actor=actor,
                referral=referral,
                decision=TriageDecision.DUPLICATE,
                duplicate_of=open_case,
                reason=CONCERN_REASON,
            )
            return open_case, False
        triaged = referral_triage(
            actor=actor,
            referral=referral,
            decision=TriageDecision.OPEN,
            child=child,
            reason=CONCERN_REASON,
            assign_to=actor.user,
        )
    except TriageNotAllowed as exc:
        raise ValidationError(str(exc)) from exc
    assert triaged.case is not None
    return triaged.case, True


concern_case_opener_register(welfare_concern_case)


def _child_of_referral(reference: object) -> int | None:
    rows = Referral.objects.filter(reference=str(reference))
    return rows.values_list("child_id", flat=True).first()


# A referral's page and endpoint show its child, once it is linked to one (audit.reads).
child_lookup_register("referrals:", "reference", _child_of_referral)
child_lookup_register("api:get_referral", "reference", _child_of_referral)

# A list of referrals shows the children they were triaged to (audit.reads).
child_rows_register(Referral, "child_id")
