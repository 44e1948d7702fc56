"""What inter-authority enquiries add to the case engine (loaded by ``autodiscover_modules``).

Closing a case as moved to another authority needs the acknowledged notice to that
authority's named contact (who acknowledged it and when default to the notice's); closing
as left the country needs the answered Home Office check.
"""

from __future__ import annotations

from cmetrack.audit.reads import child_lookup_register
from cmetrack.cases.lifecycle import Outcome
from cmetrack.cases.models import Case
from cmetrack.cases.registries import close_defaults_register, close_requirement_register
from cmetrack.organisations.models import LocalAuthority

from .models import IncomingEnquiry, OutgoingEnquiry
from .selectors import acknowledged_move_notification, close_evidence_problem


def move_notice_acknowledgement(
    case: Case, outcome: str, la: LocalAuthority | None
) -> dict[str, object]:
    """Who acknowledged the move notice to ``la`` and when, if it was acknowledged."""
    notice = acknowledged_move_notification(case, la) if la is not None else None
    if notice is None:
        return {}
    return {"acknowledged_by": notice.acknowledged_by, "acknowledged_on": notice.acknowledged_on}


close_defaults_register(Outcome.MOVED_LA, move_notice_acknowledgement)
close_requirement_register(Outcome.MOVED_LA, close_evidence_problem)
close_requirement_register(Outcome.LEFT_COUNTRY, close_evidence_problem)


def _child_of_outgoing(pk: object) -> int | None:
    return (
        OutgoingEnquiry.objects.filter(pk=int(str(pk)))
        .values_list("case__child_id", flat=True)
        .first()
    )


def _child_of_incoming(pk: object) -> int | None:
    return (
        IncomingEnquiry.objects.filter(pk=int(str(pk)))
        .values_list("matched_child_id", flat=True)
        .first()
    )


# A page or endpoint about an enquiry shows its child (audit.reads).
child_lookup_register("enquiries:outgoing-", "pk", _child_of_outgoing)
child_lookup_register("api:enquiry_", "enquiry_id", _child_of_outgoing)
child_lookup_register("enquiries:incoming-", "pk", _child_of_incoming)
child_lookup_register("api:incoming_", "enquiry_id", _child_of_incoming)
