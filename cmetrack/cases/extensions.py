"""What the case engine adds to the child's record below it (loaded by
``autodiscover_modules``): a child is visible to someone who may see one of the child's
cases, and the child's record lists those cases and their chronology."""

from __future__ import annotations

from cmetrack.accounts.models import User
from cmetrack.audit.reads import child_lookup_register, child_rows_register
from cmetrack.kit.dates import govuk_date
from cmetrack.people.models import Child
from cmetrack.people.presenters import child_record_part_register
from cmetrack.people.selectors import child_scope_register

from .models import Case
from .presenters import ChronologyRow, chronology_rows
from .selectors import cases_visible_to, chronology_for_child


def child_cases(viewer: User, child: Child) -> list[tuple[str, str, str]]:
    return [
        (case.reference, case.get_state_display(), govuk_date(case.date_referred))
        for case in cases_visible_to(viewer).filter(child=child)
    ]


def child_chronology(viewer: User, child: Child) -> list[ChronologyRow]:
    return chronology_rows(chronology_for_child(viewer, child), viewer)


child_scope_register(cases_visible_to)
child_record_part_register("cases", child_cases)
child_record_part_register("chronology", child_chronology)


def _child_of_case(case_id: object) -> int | None:
    return Case.objects.filter(pk=int(str(case_id))).values_list("child_id", flat=True).first()


# Every page and endpoint with a case in its path shows that case's child (audit.reads).
child_lookup_register("", "case_id", _child_of_case)

# Every list of children or cases a response loads is audited per child (audit.reads).
child_rows_register(Child, "id")
child_rows_register(Case, "child_id")
