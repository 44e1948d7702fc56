"""Writes of organisations and of the local-authority reference data."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from importlib import resources

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from cmetrack.audit.services import Actor, audited_update

from .models import Country, LocalAuthority, Organisation, OrganisationKind

LOCAL_AUTHORITIES_CSV = "local_authorities.csv"


@dataclass(frozen=True)
class LocalAuthorityRow:
    code: str
    name: str
    country: str
    region: str


def shipped_local_authorities() -> list[LocalAuthorityRow]:
    """The English and Welsh authorities shipped with the app (data/local_authorities.csv)."""
    text = (
        resources.files("cmetrack.organisations")
        .joinpath("data", LOCAL_AUTHORITIES_CSV)
        .read_text(encoding="utf-8")
    )
    rows = []
    for line_number, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        code = row["code"].strip()
        if len(code) != 3 or not code.isdigit() or row["country"] not in Country.values:
            raise ValueError(f"{LOCAL_AUTHORITIES_CSV} line {line_number}: bad row {row!r}")
        rows.append(LocalAuthorityRow(code, row["name"].strip(), row["country"], row["region"]))
    return rows


@transaction.atomic
def local_authorities_sync() -> int:
    """Insert or update the shipped authorities by code; contact details are left alone.

    Idempotent: running it twice changes nothing the second time. Returns rows touched.
    """
    existing = {la.code: la for la in LocalAuthority.objects.all()}
    touched = 0
    for row in shipped_local_authorities():
        current = existing.get(row.code)
        if current is None:
            LocalAuthority.objects.create(
                code=row.code, name=row.name, country=row.country, region=row.region
            )
            touched += 1
        elif (current.name, current.country, current.region) != (row.name, row.country, row.region):
            current.name, current.country, current.region = row.name, row.country, row.region
            current.save(update_fields=["name", "country", "region"])
            touched += 1
    return touched


# --- The directory of named CME contacts (inter-authority enquiries) --------------------

CONTACT_FIELDS = (
    "cme_contact_name",
    "cme_contact_role",
    "cme_contact_email",
    "cme_contact_phone",
)


def _require_administrator(actor: Actor) -> None:
    # Organisations are below accounts and know no roles: accounts grants this permission
    # to administrators (accounts.models.ROLE_PERMISSIONS).
    if actor.user is not None and not actor.user.has_perm("organisations.edit_directory"):
        raise PermissionDenied("Only an administrator can change the directory of authorities.")


@transaction.atomic
def local_authority_contact_update(
    *,
    actor: Actor,
    local_authority: LocalAuthority,
    cme_contact_name: str,
    cme_contact_role: str,
    cme_contact_email: str,
    cme_contact_phone: str,
    contact_confirmed_on: dt.date | None,
) -> LocalAuthority:
    """Change an authority's named CME contact (administrators), audited.

    The date the contact was last confirmed is what the officer says (not today by default):
    a contact copied from an old list is not a confirmed one.
    """
    _require_administrator(actor)
    errors: dict[str, list[str]] = {}
    name, email = cme_contact_name.strip(), cme_contact_email.strip()
    if email and not name:
        errors["cme_contact_name"] = ["Enter the name of the CME contact"]
    if name and not email:
        errors["cme_contact_email"] = ["Enter the contact's secure email address"]
    if contact_confirmed_on is not None and contact_confirmed_on > timezone.localdate():
        errors["contact_confirmed_on"] = [
            "The date the contact was confirmed must be today or in the past"
        ]
    if contact_confirmed_on is not None and not name:
        errors.setdefault("cme_contact_name", ["Enter the name of the CME contact"])
    if errors:
        raise ValidationError(errors)
    return audited_update(
        actor=actor,
        instance=local_authority,
        changes={
            "cme_contact_name": name,
            "cme_contact_role": cme_contact_role.strip(),
            "cme_contact_email": email,
            "cme_contact_phone": cme_contact_phone.strip(),
            "contact_confirmed_on": contact_confirmed_on,
        },
        summary=f"Changed the CME contact of {local_authority.name}",
    )


@transaction.atomic
def local_authority_contact_confirm(
    *, actor: Actor, local_authority: LocalAuthority, on: dt.date | None = None
) -> LocalAuthority:
    """Record that the named contact was confirmed as still right (today by default)."""
    _require_administrator(actor)
    if not local_authority.cme_contact_name or not local_authority.cme_contact_email:
        raise ValidationError(
            f"{local_authority.name} has no named CME contact to confirm: add one first."
        )
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise ValidationError("The date the contact was confirmed must be today or in the past")
    return audited_update(
        actor=actor,
        instance=local_authority,
        changes={"contact_confirmed_on": on},
        summary=f"Confirmed the CME contact of {local_authority.name}",
    )


@transaction.atomic
def other_la_organisation(local_authority: LocalAuthority) -> Organisation:
    """The organisation that stands for another authority (a referrer of its enquiries)."""
    org = Organisation.objects.filter(
        kind=OrganisationKind.OTHER_LA, local_authority=local_authority
    ).first()
    if org is None:
        org = Organisation.objects.create(
            kind=OrganisationKind.OTHER_LA,
            name=local_authority.name,
            local_authority=local_authority,
        )
    return org
