"""The data set of an enquiry (forms.md section 5), prefilled from the case.

The officer chooses which items to share. Whatever is chosen, a restricted address (a
family fleeing domestic abuse, witness protection) never leaves: addresses come only from
:func:`cmetrack.people.selectors.addresses_for_sharing`, an address that shares a line or a
postcode with a restricted one is left out too, and every text the officer types is
refused if it contains a restricted address's first line or postcode. The built document
is checked once more as text before it is stored (:func:`assert_nothing_restricted`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from cmetrack.cases.models import Case
from cmetrack.people.choices import VulnerableGroup
from cmetrack.people.models import Address, Child, SiblingLink
from cmetrack.people.selectors import addresses_for_sharing

from .documents import (
    ChildDetails,
    EnquiryDocument,
    Family,
    History,
    ParentCarerOut,
    PersonName,
    Recipient,
    Sender,
    Vulnerability,
)

#: Items the officer may share, in the order of the form: key -> label.
CHILD_ITEMS: dict[str, str] = {
    "name": "Name and aliases",
    "dob": "Date of birth",
    "gender": "Sex and gender",
    "ethnicity": "Ethnicity",
    "upn": "UPN and former UPNs",
    "parents": "Parents' and carers' names, and who has parental responsibility",
    "siblings": "Siblings' names",
    "previous_addresses": "Last known and previous addresses (never a restricted address)",
    "previous_school": "Previous school and date of last attendance",
    "date_left_area": "Date the child left the area",
    "possible_new_address": "Possible new address",
    "possible_new_school": "Possible new school",
    "country_of_origin": "Country of origin, if recently arrived",
}
VULNERABILITY_ITEMS: dict[str, str] = {
    "reason_for_leaving": "Reason for leaving, if known",
    "care_and_protection": (
        "Child protection, looked after, private fostering, asylum seeker and youth justice"
    ),
    "attendance_interventions": "Attendance interventions, including pending prosecutions",
    "sen_status": "Special educational needs status",
    "other_vulnerability": "Other vulnerability indicators",
}
ALL_ITEMS: dict[str, str] = {**CHILD_ITEMS, **VULNERABILITY_ITEMS}
#: What the enquiry form ticks to start with: the least another authority needs to find the
#: child (data minimisation, UK GDPR article 5(1)(c)). The officer ticks more, above all a
#: vulnerability, only when it is needed for this enquiry.
MINIMUM_ITEMS: tuple[str, ...] = (
    "name",
    "dob",
    "gender",
    "upn",
    "parents",
    "previous_school",
    "date_left_area",
    "possible_new_address",
    "possible_new_school",
)

#: What the officer types (each shared only if its item is chosen and it is not blank).
TYPED_FIELDS = (
    "possible_new_address",
    "possible_new_school",
    "country_of_origin",
    "reason_for_leaving",
    "attendance_interventions",
    "other_vulnerability",
)

RESTRICTED_REFUSAL = (
    "This text contains the child's restricted address (or part of it). A restricted "
    "address never leaves the system: remove it."
)


@dataclass(frozen=True)
class EnquiryDetails:
    """What the officer adds to the case's own data for one enquiry."""

    date_left_area: dt.date | None = None
    possible_new_address: str = ""
    possible_new_school: str = ""
    country_of_origin: str = ""
    reason_for_leaving: str = ""
    attendance_interventions: str = ""
    other_vulnerability: str = ""
    share: frozenset[str] = field(default_factory=lambda: frozenset(ALL_ITEMS))


# --- restricted addresses -----------------------------------------------------------------


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@dataclass(frozen=True)
class RestrictedMarkers:
    """The parts of a child's restricted addresses that must not appear in anything sent."""

    texts: tuple[str, ...]

    @classmethod
    def of(cls, child: Child) -> RestrictedMarkers:
        markers: set[str] = set()
        for address in child.addresses.all():
            if not address.is_restricted:
                continue
            for part in (address.line1, address.postcode, str(address)):
                squashed = _squash(part)
                if len(squashed) >= 4:
                    markers.add(squashed)
        return cls(tuple(sorted(markers)))

    def found_in(self, text: str) -> bool:
        squashed = _squash(text)
        return any(m in squashed for m in self.texts)

    def address_is_clear(self, address: Address) -> bool:
        return not address.is_restricted and not self.found_in(str(address))


def assert_nothing_restricted(text: str, markers: RestrictedMarkers) -> None:
    """Last check on anything about to leave: refuse if a restricted address is in it."""
    if markers.found_in(text):
        raise ValidationError(
            "This enquiry would include the child's restricted address, so it was not made. "
            "Check the information you typed."
        )


def check_typed_text(values: dict[str, str], markers: RestrictedMarkers) -> None:
    """Refuse typed text holding a restricted address, naming each field concerned."""
    errors = {name: [RESTRICTED_REFUSAL] for name, v in values.items() if v and markers.found_in(v)}
    if errors:
        raise ValidationError(errors)


# --- building the document ----------------------------------------------------------------


def _sex_label(child: Child) -> str:
    return {"F": "Female", "M": "Male"}.get(child.sex, "Not known")


def _siblings(child: Child) -> list[str]:
    links = SiblingLink.objects.filter(child=child).select_related("sibling")
    return [link.sibling.full_name for link in links]


def _previous_addresses(child: Child, markers: RestrictedMarkers) -> list[str]:
    """The addresses the child is known at here, the last known first (the current one
    on our record is the "previous address" for the other authority): never a restricted
    one, nor one sharing a line or postcode with a restricted one."""
    return [str(a) for a in addresses_for_sharing(child) if markers.address_is_clear(a)]


def _previous_school(case: Case) -> str:
    if case.last_education_school is not None:
        return case.last_education_school.name
    return case.last_education_place


def sender_for(case: Case, officer_name: str, officer_email: str) -> Sender:
    return Sender(
        authority_code=settings.CMETRACK_LA_CODE,
        authority_name=settings.CMETRACK_LA_NAME,
        officer_name=officer_name or "CME officer",
        officer_email=officer_email,
        case_reference=case.reference,
    )


def build_document(
    *,
    case: Case,
    reference: str,
    sent_on: dt.date,
    reply_due_on: dt.date,
    sender: Sender,
    recipient: Recipient,
    reason_linked: str,
    details: EnquiryDetails,
    markers: RestrictedMarkers,
) -> EnquiryDocument:
    """The enquiry as it leaves: only the chosen items, never a restricted address."""
    child = case.child
    chosen = details.share
    groups = {v.group for v in child.vulnerabilities.all()}

    def pick(key: str, value: Any) -> Any:
        """The value if its item was chosen; text from the record that holds a restricted
        address (a free-text field can) is left out rather than shared."""
        if key not in chosen:
            return None
        if isinstance(value, str) and markers.found_in(value):
            return None
        if isinstance(value, list):
            value = [v for v in value if not (isinstance(v, str) and markers.found_in(v))]
        if isinstance(value, str | list) and not value:
            return None
        return value

    child_part = ChildDetails(
        legal_name=pick(
            "name",
            PersonName(
                given_names=child.legal_given_names,
                middle_names=child.legal_middle_names,
                family_name=child.legal_family_name,
            ),
        ),
        aliases=pick("name", [str(a) for a in child.aliases.all()]),
        date_of_birth=pick("dob", child.dob),
        sex=pick("gender", _sex_label(child)),
        gender=pick("gender", child.gender),
        ethnicity=pick("ethnicity", child.get_ethnicity_display() if child.ethnicity else ""),
        upn=pick("upn", child.upn or ""),
        former_upns=pick("upn", [f.upn for f in child.former_upns.all()]),
    )
    family = Family(
        parents_carers=pick(
            "parents",
            [
                ParentCarerOut(
                    name=f"{p.given_names} {p.family_name}".strip(),
                    relationship=p.get_relationship_display(),
                    parental_responsibility=p.parental_responsibility,
                )
                for p in child.parents_carers.all()
            ],
        ),
        siblings=pick("siblings", _siblings(child)),
    )
    history = History(
        previous_addresses=pick("previous_addresses", _previous_addresses(child, markers)),
        previous_school=pick("previous_school", _previous_school(case)),
        date_of_last_attendance=pick("previous_school", case.last_education_date),
        date_left_area=pick("date_left_area", details.date_left_area),
        possible_new_address=pick("possible_new_address", details.possible_new_address.strip()),
        possible_new_school=pick("possible_new_school", details.possible_new_school.strip()),
        country_of_origin=pick("country_of_origin", details.country_of_origin.strip()),
    )
    care = "care_and_protection" in chosen
    vulnerability = Vulnerability(
        reason_for_leaving=pick("reason_for_leaving", details.reason_for_leaving.strip()),
        child_protection=child.child_protection_plan if care else None,
        looked_after=child.in_care if care else None,
        private_fostering=(VulnerableGroup.PRIVATELY_FOSTERED in groups) if care else None,
        asylum_seeker=bool(groups & {VulnerableGroup.UASC, VulnerableGroup.REFUGEE_FAMILY})
        if care
        else None,
        youth_justice=(VulnerableGroup.YOUNG_OFFENDER in groups) if care else None,
        attendance_interventions=pick(
            "attendance_interventions", details.attendance_interventions.strip()
        ),
        sen_status=pick(
            "sen_status", child.get_sen_provision_display() if child.sen_provision else ""
        ),
        other=pick("other_vulnerability", details.other_vulnerability.strip()),
    )
    return EnquiryDocument(
        reference=reference,
        sent_on=sent_on,
        reply_due_on=reply_due_on,
        sender=sender,
        recipient=recipient,
        reason_linked=reason_linked.strip(),
        child=child_part,
        family=family,
        history=history,
        vulnerability=vulnerability,
    )


def record_preview(case: Case) -> dict[str, str]:
    """What the case's record holds for each item drawn from it, for the form (as text)."""
    child = case.child
    markers = RestrictedMarkers.of(child)
    aliases = ", ".join(str(a) for a in child.aliases.all())
    parents = "; ".join(
        f"{p.given_names} {p.family_name} ({p.get_relationship_display()}"
        + (", parental responsibility)" if p.parental_responsibility else ")")
        for p in child.parents_carers.all()
    )
    school = _previous_school(case)
    if school and case.last_education_date:
        school += f", last attended {case.last_education_date:%d/%m/%Y}"
    upns = ", ".join(filter(None, [child.upn or "", *(f.upn for f in child.former_upns.all())]))
    return {
        "name": child.full_name + (f" (also known as {aliases})" if aliases else ""),
        "dob": f"{child.dob:%d/%m/%Y}" if child.dob else "",
        "gender": _sex_label(child) + (f", {child.gender}" if child.gender else ""),
        "ethnicity": child.get_ethnicity_display() if child.ethnicity else "",
        "upn": upns,
        "parents": parents,
        "siblings": ", ".join(_siblings(child)),
        "previous_addresses": "; ".join(_previous_addresses(child, markers)),
        "previous_school": school,
        "sen_status": child.get_sen_provision_display() if child.sen_provision else "",
    }
