"""Every list page's SQL queries stay the same however many rows it shows (issue 20).

A per-row query (an N+1: each case's child, officer or last contact fetched one at a time)
is cheap in a test with three rows and seconds at a county's size. So every page of the
access matrix without a path parameter (the lists, queues, dashboards and home pages) is
opened as every role that may use it, twice: over a small demo authority and over one
with three times the cases (the demo's builder, through the services, as ``demo_data``).
No query may be made once a row (the same SQL with other values, three times or more and
more often with more cases), and no page makes more than ``CEILING`` queries.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from django.core.cache import caches
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.core.tests.test_access_matrix import REGISTRY, route_params, url_routes
from cmetrack.demo.services import DEMO_USERS, build_demo_authority, demo_email

pytestmark = pytest.mark.django_db

#: The most queries any list page may make (the home page of a CME officer makes the most:
#: a count for each of its queues).
CEILING = 45
SMALL, LARGE = 10, 30
#: Each page's SQL, by (role, URL name, cases in the demo).
SQL: dict[tuple[Role, str, int], list[str]] = {}
#: Not lists of records.
SKIP = {"health", "metrics", "logout", "accounts:two-factor-set-up", "accounts:two-factor-verify"}


def list_pages() -> list[tuple[Role, str, str]]:
    """(role, URL name, path) of every parameterless GET page, for each role allowed."""
    routes = url_routes()
    pages = []
    for name, entry in sorted(REGISTRY.items()):
        if name in SKIP or "GET" not in entry.methods or name not in routes:
            continue
        if route_params(routes[name]) or name.startswith("api:"):
            continue
        for role in Role:
            if entry.public or entry.roles is None or role in entry.roles:
                pages.append((role, name, reverse(name)))
    return pages


def shapes(sqls: list[str]) -> Counter[str]:
    """Each query's shape (its SQL with the values taken out), and how often it was made."""
    return Counter(re.sub(r"\b\d+\b|'[^']*'", "?", q) for q in sqls)


def count_queries(cases: int) -> dict[tuple[Role, str], tuple[int, int]]:
    """Build the demo with ``cases`` cases, open every list page as each role: (queries,
    status) of each. Everything is rolled back afterwards."""
    out: dict[tuple[Role, str], tuple[int, int]] = {}
    sid = transaction.savepoint()
    try:
        build_demo_authority(seed=7, schools=4, pupils=120, cases=cases)
        clients: dict[Role, Any] = {}
        for role, name, path in list_pages():
            if role not in clients:
                demo = next(u for u in DEMO_USERS if role in u.roles)
                clients[role] = Client()
                clients[role].force_login(User.objects.get(email=demo_email(demo.email)))
            for cache in ("default", "shared"):
                caches[cache].clear()  # the reports' figures are cached for a minute
            with CaptureQueriesContext(connection) as captured:
                response = clients[role].get(path)
            out[(role, name)] = (len(captured.captured_queries), response.status_code)
            SQL[(role, name, cases)] = [q["sql"] for q in captured.captured_queries]
    finally:
        transaction.savepoint_rollback(sid)
    return out


def test_list_pages_make_the_same_queries_for_more_rows():
    small = count_queries(SMALL)
    large = count_queries(LARGE)
    assert large.keys() == small.keys()
    errors = [
        f"{name} as {role.value}: {large[(role, name)][1]}"
        for role, name in large
        if large[(role, name)][1] >= 500
    ]
    assert not errors, errors
    # A query per row: the same query (other values) made three times or more, and more
    # often with more cases. (A page that was empty with fewer cases makes its page's
    # queries once when it has rows: that is not growth.)
    per_row = []
    for role, name in large:
        before = shapes(SQL[(role, name, SMALL)])
        for shape, n in shapes(SQL[(role, name, LARGE)]).items():
            if n >= 3 and n > before.get(shape, 0):
                per_row.append(
                    f"{name} as {role.value}: {before.get(shape, 0)} then {n} times: {shape[:400]}"
                )
    assert not per_row, "\n".join(per_row)
    over = [
        f"{name} as {role.value}: {n} queries"
        for (role, name), (n, _) in large.items()
        if n > CEILING
    ]
    assert not over, "\n".join(over)
