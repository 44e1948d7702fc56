"""What the register's pages and export show about each entry."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.urls import reverse

from cmetrack.kit.dates import govuk_date
from cmetrack.people.models import Address

from .selectors import RegisterEntry


def hours(value: Decimal | None) -> str:
    if value is None:
        return "Not known"
    return f"{value.normalize():f}"


def address_text(address: Address | None) -> str:
    """Never a restricted address: this page and the export may leave the team."""
    if address is None:
        return "Not known"
    return "Restricted" if address.is_restricted else str(address)


def parent_texts(entry: RegisterEntry) -> list[str]:
    out = []
    for p in entry.parents:
        if p.address.strip():
            where = p.address
        elif p.lives_with_child and entry.home_address is not None:
            where = "Lives with the child"
        else:
            where = "address not known"
        out.append(f"{p.given_names} {p.family_name}".strip() + f" ({where})")
    return out


def provider_texts(entry: RegisterEntry) -> list[str]:
    return [
        f"{p.name}, {p.get_provider_type_display().lower()}, {hours(p.hours_per_week)} hours a "
        f"week; address: {p.address or 'not known'}; where: {p.where or 'not known'}"
        + (" (online)" if p.online else "")
        for p in entry.providers
    ]


def optional_items(entry: RegisterEntry) -> list[tuple[str, str]]:
    child, d = entry.child, entry.details
    sen = child.get_sen_provision_display()
    if entry.home_education is not None:
        sen = entry.home_education.get_sen_status_display()
    return [
        ("Sex", child.get_sex_display()),
        ("Ethnicity", child.get_ethnicity_display() or "Not known"),
        (
            "Other protected characteristics",
            (d.protected_characteristics if d else "") or "None recorded",
        ),
        ("SEN or EHC plan", sen),
        (
            "Child protection enquiries",
            (d.get_child_protection_enquiries_display() if d else "Not known"),
        ),
        ("Child protection plan", "Yes" if child.child_protection_plan else "No"),
        ("Looked after", "Yes" if child.in_care else "No"),
        ("Child in need", (d.get_child_in_need_display() if d else "Not known")),
    ]


@dataclass(frozen=True)
class EntryRow:
    entry: RegisterEntry

    @property
    def href(self) -> str:
        return reverse("cnis:child", args=[self.entry.child.pk])

    @property
    def cells(self) -> tuple[str, ...]:
        e = self.entry
        return (
            e.child.full_name,
            govuk_date(e.child.dob) if e.child.dob else "Not known",
            "; ".join(e.bases),
            address_text(e.home_address),
            hours(e.parent_hours),
            hours(e.other_hours)
            if e.providers
            else ("0" if e.details and e.details.no_other_providers else "Not known"),
            "Complete" if e.complete else f"{len(e.missing)} missing",
        )


HEADERS = (
    "Child",
    "Date of birth",
    "Why on the register",
    "Home address",
    "Hours a week with parents",
    "Hours a week with others",
    "Required items",
)

CSV_HEADERS = (
    "Child",
    "Date of birth",
    "UPN",
    "Why on the register",
    "Home address",
    "Parents (name and address)",
    "Hours a week educated by parents",
    "Hours a week educated by others",
    "Other providers (name, type, hours, address, where)",
    "Sex",
    "Ethnicity",
    "Other protected characteristics",
    "SEN or EHC plan",
    "Child protection enquiries",
    "Child protection plan",
    "Looked after",
    "Child in need",
    "Missing required items",
)


def csv_row(entry: RegisterEntry) -> list[str]:
    e = entry
    optional = [v for _, v in optional_items(e)]
    return [
        e.child.full_name,
        e.child.dob.isoformat() if e.child.dob else "",
        e.child.upn or "",
        "; ".join(e.bases),
        address_text(e.home_address) if e.home_address else "",
        " | ".join(parent_texts(e)),
        hours(e.parent_hours) if e.parent_hours is not None else "",
        hours(e.other_hours)
        if e.providers and e.other_hours is not None
        else ("0" if e.details and e.details.no_other_providers else ""),
        " | ".join(provider_texts(e)),
        *optional,
        "; ".join(e.missing),
    ]
