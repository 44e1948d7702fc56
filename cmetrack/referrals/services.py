"""Writes of referrals."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from cmetrack.audit.services import Actor, audited_create, audited_update
from cmetrack.cases.models import Case, ReferralRoute
from cmetrack.organisations.models import Organisation

from .models import Referral, ReferralStatus


@transaction.atomic
def referral_record(
    *,
    actor: Actor,
    route: ReferralRoute,
    given_names: str,
    family_name: str,
    reason: str,
    dob: dt.date | None = None,
    sex: str = "U",
    address: str = "",
    postcode: str = "",
    school: Organisation | None = None,
    referring_organisation: Organisation | None = None,
    reporter_name: str = "",
    reporter_contact: str = "",
) -> Referral:
    referral = Referral(
        route=route,
        given_names=given_names,
        family_name=family_name,
        reason=reason,
        dob=dob,
        sex=sex,
        address=address,
        postcode=postcode.upper().strip(),
        school=school,
        referring_organisation=referring_organisation,
        referred_by=actor.user,
        reporter_name=reporter_name,
        reporter_contact=reporter_contact,
    )
    return audited_create(
        actor=actor,
        instance=referral,
        summary=f"Referral received ({referral.get_route_display()})",
    )


def referral_link_case(*, actor: Actor, referral: Referral, case: Case) -> Referral:
    return audited_update(
        actor=actor,
        instance=referral,
        child_id=case.child_id,
        changes={"case": case, "child": case.child, "status": ReferralStatus.LINKED},
        summary=f"Referral {referral.reference} linked to {case.reference}",
    )
