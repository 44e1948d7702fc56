"""The dashboard's counts: one query for the figures of a period, the same numbers as each
figure counted on its own, and kept for a minute in the cache the web processes share."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.cases.models import Case
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.reports import presenters as pr
from cmetrack.reports import selectors as sel
from cmetrack.reports.periods import Period, term

from .conftest import TODAY, World
from .factories import case_with_history

D = dt.date
AUTUMN = term("autumn", 2026)
PERIODS = [
    AUTUMN,
    term("summer", 2026),
    Period(D(2026, 1, 1), D(2026, 12, 31), "2026"),
    Period(D(2026, 9, 10), D(2026, 9, 10), "one day"),
]


def filters(as_at: dt.date, period: Period) -> pr.Filters:
    return pr.Filters(as_at=as_at, period=period, today=TODAY)


@pytest.mark.parametrize("as_at", [TODAY, D(2026, 10, 31), D(2026, 6, 30), D(2025, 1, 1)])
@pytest.mark.parametrize("period", PERIODS, ids=lambda p: p.label)
def test_headline_totals_equal_each_figure_counted_alone(
    world: World, as_at: dt.date, period: Period
) -> None:
    f = filters(as_at, period)
    expected = {key: sel.figure_total(fig, f.params) for key, fig in sel.FIGURES.items()}
    assert pr.headline_totals(f) == expected
    assert {h.figure.key: h.total for h in pr.headlines(f)} == expected


def test_the_figures_of_a_period_are_one_query(world: World) -> None:
    f = filters(TODAY, AUTUMN)
    with CaptureQueriesContext(connection) as queries:
        totals = sel.totals_not_on_a_date(f.params)
    assert len(queries) == 1
    # Autumn 2026 by hand (conftest): referred in it cases 1, 4, 6, 7; case 6 reopened;
    # located case 3; closed cases 4 and 7.
    assert totals["opened"] == 4
    assert totals["reopened"] == 1
    assert totals["located"] == 1
    assert totals["closed"] == 2


@pytest.fixture
def cached(settings: Any) -> None:
    settings.CMETRACK_REPORTS_CACHE_SECONDS = 60
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "shared": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "dashboard-test",
        },
    }
    from django.core.cache import caches

    caches["shared"].clear()


def page(response: Any) -> str:
    """The page without what changes on every response (nonces, form tokens)."""
    assert response.status_code == 200
    return re.sub(r'(nonce|value)="[^"]*"', "", response.content.decode())


def test_the_dashboard_counts_once_a_minute(
    cached: None, client: Client, make_user: Any, world: World
) -> None:
    client.force_login(make_user(Role.CME_MANAGER))
    url = reverse("reports:dashboard") + "?as_at=2026-11-20&from=2026-09-01&to=2026-12-31"
    first = page(client.get(url))
    with CaptureQueriesContext(connection) as queries:
        second = page(client.get(url))
    assert second == first
    counting = [q["sql"] for q in queries if "cases_case" in q["sql"]]
    assert counting == []  # the figures came from the cache
    # A new case shows within the minute only once the cache has expired.
    case_with_history(
        child=ChildFactory.create(),
        referred=D(2026, 11, 19),
        history=[("received", D(2026, 11, 19)), ("tracking", D(2026, 11, 19))],
    )
    assert page(client.get(url)) == first
    from django.core.cache import caches

    caches["shared"].clear()
    assert page(client.get(url)) != first


def test_other_filters_are_counted_separately(
    cached: None, client: Client, make_user: Any, world: World
) -> None:
    client.force_login(make_user(Role.CME_MANAGER))
    base = reverse("reports:dashboard")
    autumn = page(client.get(base + "?as_at=2026-11-20&from=2026-09-01&to=2026-12-31"))
    summer = page(client.get(base + "?as_at=2026-06-30&from=2026-04-01&to=2026-08-31"))
    assert autumn != summer


def test_without_a_usable_cache_it_counts(
    cached: None, client: Client, make_user: Any, world: World, monkeypatch: Any
) -> None:
    from django.core.cache import caches

    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("Read-only file system")

    monkeypatch.setattr(caches["shared"], "get", broken)
    monkeypatch.setattr(caches["shared"], "set", broken)
    client.force_login(make_user(Role.CME_MANAGER))
    response = client.get(reverse("reports:dashboard"))
    assert response.status_code == 200
    assert Case.objects.count() == len(world.cases)
