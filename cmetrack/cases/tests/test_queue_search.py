"""The queues' name search: by the first letters of any name, ignoring case, and indexed.

``search_cases`` finds a child by the start of the family name, the first given name or an
alias, every word typed narrowing it further. On PostgreSQL the lookups are answered by
the expression indexes of cases migration 0007 (checked with EXPLAIN).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from cmetrack.accounts.roles import Role
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case
from cmetrack.cases.selectors import QueueFilters, queue_page, search_cases
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.people.models import Child, ChildAlias
from cmetrack.people.tests.factories import ChildFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cases(school):
    def make(given: str, family: str, alias: tuple[str, str] | None = None) -> Case:
        child = ChildFactory.create(legal_given_names=given, legal_family_name=family, upn=None)
        if alias:
            ChildAlias.objects.create(
                child=child, alias_type="known_as", given_names=alias[0], family_name=alias[1]
            )
        return case_in_state(CaseState.TRACKING, school=school, child=child)

    return {
        "mcd": make("Siobhan Mary", "McDonagh"),
        "mac": make("Mary", "MacDonald"),
        "don": make("Donal", "Kerr", alias=("Danny", "Docherty")),
        "kerr": make("Aoife", "Kerrigan"),
    }


def found(q: str) -> set[str]:
    return {c.child.legal_family_name for c in search_cases(Case.objects.all(), q)}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("mcdon", {"McDonagh"}),
        ("MCDONAGH", {"McDonagh"}),
        ("macd", {"MacDonald"}),
        ("siob", {"McDonagh"}),  # the first given name
        ("mary", {"MacDonald"}),  # a second given name is not the start of the names
        ("kerr", {"Kerr", "Kerrigan"}),
        ("dan", {"Kerr"}),  # an alias's given name
        ("doch", {"Kerr"}),  # an alias's family name
        ("donal kerr", {"Kerr"}),  # every word must match some name
        ("aoife kerr", {"Kerrigan"}),
        ("aoife docherty", set()),
        ("onagh", set()),  # the middle of a name is not searched
        ("  kerrig  ", {"Kerrigan"}),
    ],
)
def test_name_search_by_the_start_of_any_name_ignoring_case(cases, q, expected):
    assert found(q) == expected


def test_the_queue_page_counts_and_lists_only_the_matches(cases, make_user):
    manager = make_user(Role.CME_MANAGER)
    page = queue_page(manager, "all", QueueFilters(q="kerr"))
    assert page.total == 2
    assert {c.pk for c in page.cases} == {cases["don"].pk, cases["kerr"].pk}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="expression indexes: PostgreSQL")
@pytest.mark.parametrize(
    ("model", "column", "index"),
    [
        (Child, "legal_family_name", "child_family_name_prefix"),
        (Child, "legal_given_names", "child_given_names_prefix"),
        (ChildAlias, "family_name", "alias_family_name_prefix"),
        (ChildAlias, "given_names", "alias_given_names_prefix"),
    ],
)
def test_prefix_search_can_use_its_index_on_postgresql(cases, model, column, index):
    qs = model.objects.filter(**{f"{column}__istartswith": "Kerr"}).values("pk")
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan


def _many(n: int) -> list[Case]:
    import datetime as dt

    from cmetrack.cases.models import ReferralRoute

    made = []
    for i in range(n):
        child = ChildFactory.create(
            legal_given_names="Pat", legal_family_name=f"Quarry{i % 7}", upn=None
        )
        made.append(
            Case.objects.create(
                child=child,
                route=ReferralRoute.PUBLIC,
                state=CaseState.TRACKING,
                date_referred=dt.date(2026, 9, 1) + dt.timedelta(days=i % 9),
            )
        )
    return made


def _walk(user: Any, q: str, page_size: int) -> tuple[list[int], set[int]]:
    seen, totals, after = [], set(), ""
    while True:
        page = queue_page(user, "open", QueueFilters(q=q), after=after, page_size=page_size)
        seen += [c.pk for c in page.cases]
        totals.add(page.total)
        if not page.next_cursor:
            return seen, totals
        after = page.next_cursor


@pytest.mark.parametrize("small_result", [5000, 3], ids=["counted-here", "counted-in-the-db"])
def test_search_results_page_in_queue_order(monkeypatch, make_user, small_result):
    from cmetrack.cases import selectors

    monkeypatch.setattr(selectors, "_SMALL_RESULT", small_result)
    made = _many(23)
    manager = make_user(Role.CME_MANAGER)
    expected = [c.pk for c in sorted(made, key=lambda c: (c.date_referred, c.pk))]
    seen, totals = _walk(manager, "quarry", page_size=5)
    assert seen == expected
    assert totals == {23}
    seen, totals = _walk(manager, "pat quarry3", page_size=2)
    assert seen == [
        pk for pk in expected if Case.objects.get(pk=pk).child.legal_family_name == "Quarry3"
    ]
    assert totals == {len(seen)}


@pytest.mark.parametrize("q", ["kerr", "dan", "donal kerr", "mary", "aoife docherty", "m"])
def test_many_matching_children_give_the_same_answer(cases, monkeypatch, q):
    """Past the limit of children looked up first, the database does the whole search."""
    from cmetrack.cases import selectors

    expected = found(q)
    monkeypatch.setattr(selectors, "_NAME_MATCH_LIMIT", 0)
    assert found(q) == expected
