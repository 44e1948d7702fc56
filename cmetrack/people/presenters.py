"""A child's record prepared for display, with restricted addresses masked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.audit.presenters import when
from cmetrack.kit.dates import govuk_date

from .models import Child
from .selectors import access_log_for, addresses_for_display

RESTRICTED = "Restricted"

#: The parts of a child's record that the layers above people hold, by name: ``cases``
#: (reference, state, date referred) and ``chronology`` (rows with ``when``, ``kind``,
#: ``summary``, ``by``, ``case_reference``), each for one viewer. The case engine
#: registers both (``cases/extensions.py``); a part nobody registered is empty.
CHILD_RECORD_PARTS: dict[str, Callable[[User, Child], list[Any]]] = {}


def child_record_part_register(name: str, part: Callable[[User, Child], list[Any]]) -> None:
    CHILD_RECORD_PARTS[name] = part


def _part(name: str, viewer: User, child: Child) -> list[Any]:
    part = CHILD_RECORD_PARTS.get(name)
    return part(viewer, child) if part is not None else []


@dataclass
class ChildPresenter:
    child: Child
    viewer: User

    @property
    def summary_rows(self) -> list[tuple[str, str]]:
        c = self.child
        dob = govuk_date(c.dob, "Not known")
        if c.dob:
            dob = f"{dob} ({c.get_dob_certainty_display().lower()})"
        rows = [
            ("Legal name", c.full_name),
            ("Date of birth", dob),
            ("Sex", c.get_sex_display()),
            ("UPN", c.upn or "Not known"),
            ("Ethnicity", c.get_ethnicity_display() if c.ethnicity else "Not recorded"),
            ("First language", c.first_language or "Not recorded"),
            ("SEN provision", c.get_sen_provision_display()),
            (
                "Child in care",
                "Yes" + (f", {c.responsible_la.name}" if c.responsible_la else "")
                if c.in_care
                else "No",
            ),
            ("Child protection plan", "Yes" if c.child_protection_plan else "No"),
        ]
        aliases = [str(a) for a in c.aliases.all()]
        if aliases:
            rows.insert(1, ("Other names", "; ".join(aliases)))
        former = [f.upn for f in c.former_upns.all()]
        if former:
            rows.insert(4, ("Former UPNs", ", ".join(former)))
        groups = [v.get_group_display() for v in c.vulnerabilities.all()]
        rows.append(("Vulnerable groups", "; ".join(groups) if groups else "None recorded"))
        return rows

    @property
    def addresses(self) -> list[tuple[str, str]]:
        out = []
        for address, visible in addresses_for_display(user=self.viewer, child=self.child):
            when = "Current" if address.is_current else f"Until {govuk_date(address.date_to)}"
            out.append((when, str(address) if visible else RESTRICTED))
        return out

    @property
    def parents_carers(self) -> list[str]:
        return [str(p) for p in self.child.parents_carers.all()]

    @property
    def cases(self) -> list[tuple[str, str, str]]:
        return _part("cases", self.viewer, self.child)

    @property
    def chronology(self) -> list[Any]:
        """Everything on the chronologies of this child's cases the viewer may see."""
        return _part("chronology", self.viewer, self.child)

    @property
    def has_restricted_address(self) -> bool:
        return any(a.is_restricted for a in self.child.addresses.all())

    @property
    def can_manage_restricted_access(self) -> bool:
        return self.viewer.has_role(Role.CME_MANAGER)

    @property
    def can_export_subject_access(self) -> bool:
        return self.viewer.has_role(Role.CME_MANAGER)

    @cached_property
    def access_log(self) -> list[tuple[str, str]] | None:
        """(when, who) of the latest views of this record; None if the viewer may not see it."""
        events = access_log_for(user=self.viewer, child=self.child)
        if events is None:
            return None
        return [
            (when(e), f"{e.actor.full_name} ({e.actor_label})" if e.actor else e.actor_label)
            for e in events
        ]
