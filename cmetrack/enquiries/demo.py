"""Demo enquiries for the synthetic authority (called from ``demo.services``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case
from cmetrack.organisations.models import LocalAuthority

from . import services
from .dataset import EnquiryDetails
from .models import ReplyOutcome
from .selectors import own_authority_code

#: Synthetic named contacts (example.gov.uk is reserved for examples).
DEMO_CONTACTS = [
    ("202", "Priya Shah", "CME lead officer", 40),
    ("204", "Tom Ellis", "Children missing education officer", 200),
    ("330", "Grace Okafor", "CME co-ordinator", 500),  # not confirmed for over a year
    ("350", "Huw Morgan", "Education welfare manager", 90),
    ("873", "Sam Taylor", "CME officer", None),  # never confirmed
]


def demo_enquiries(*, officer: Any, today: dt.date) -> int:
    """Named contacts for a few authorities (one stale, one never confirmed) and three
    outgoing enquiries (new, overdue and answered). Returns the number of enquiries made.

    No incoming enquiry: it would be a referral waiting for triage, and the demo keeps
    every referral linked to its case."""
    actor = Actor(user=officer, label="demo")
    authorities = []
    for code, name, role, confirmed_days_ago in DEMO_CONTACTS:
        la = LocalAuthority.objects.exclude(code=own_authority_code()).filter(code=code).first()
        if la is None:
            continue
        la.cme_contact_name, la.cme_contact_role = name, role
        la.cme_contact_email = f"cme.enquiries@{la.name.lower().replace(' ', '-')}.example.gov.uk"
        la.cme_contact_phone = "020 7946 0000"
        la.contact_confirmed_on = (
            today - dt.timedelta(days=confirmed_days_ago) if confirmed_days_ago else None
        )
        la.save()
        authorities.append(la)
    cases = list(Case.objects.filter(state=CaseState.TRACKING).order_by("date_referred", "pk")[:3])
    if len(authorities) < 3 or not cases:
        return 0
    made = 0
    plans = [
        (0, "A neighbour said the family were moving in with relatives in this area.", 1),
        (1, "The child's GP records were requested by a practice in this area.", 25),
        (2, "The mother's new employer is in this area.", 30),
    ]
    for i, (la_index, reason, days_ago) in enumerate(plans):
        if i >= len(cases):
            break
        case = cases[i]
        sent_on = max(case.date_referred, today - dt.timedelta(days=days_ago))
        enquiry = services.enquiry_send(
            actor=actor,
            case=case,
            local_authority=authorities[la_index],
            reason_linked=reason,
            details=EnquiryDetails(reason_for_leaving="Not known; left without notice."),
            sent_on=sent_on,
        )
        made += 1
        if i == 2:
            services.enquiry_reply_record(
                actor=actor,
                enquiry=enquiry,
                received_on=min(today, sent_on + dt.timedelta(days=7)),
                outcome=ReplyOutcome.NOT_KNOWN,
                responder_name=authorities[la_index].cme_contact_name,
                details="Not on any roll or register here; no trace at the addresses we hold.",
            )
    return made
