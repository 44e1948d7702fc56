"""The roles people hold in the system (../shared/domain/README.md, "Who uses it")."""

from __future__ import annotations

from django.db import models


class Role(models.TextChoices):
    SCHOOL_USER = "school_user", "School user"
    AGENCY_USER = "agency_user", "Agency user"
    SLO = "slo", "School Liaison Officer"
    CME_OFFICER = "cme_officer", "CME officer"
    CME_MANAGER = "cme_manager", "CME manager"
    VIRTUAL_SCHOOL = "virtual_school", "Virtual School officer"
    SAFEGUARDING_ADVISER = "safeguarding_adviser", "Education safeguarding adviser"
    ADMINISTRATOR = "administrator", "Administrator"
    AUDITOR = "auditor", "Auditor or senior manager"
    ADMISSIONS = "admissions", "Admissions officer"


#: Roles that see every case of the authority.
ALL_CASES_ROLES = frozenset({Role.CME_OFFICER, Role.CME_MANAGER})
