"""Benchmark: every report figure and page at 100,000 cases and 1,000,000 chronology events.

Builds (once) a synthetic authority in a scratch PostgreSQL database (default
postgres://postgres@127.0.0.1:5432/cmetrack_bench_reports, created if missing): 90,000
children (with addresses, some restricted, and vulnerable groups), 100,000 cases over
three years in every state with a consistent state history (about 330,000 state
changes), 1,000,000 chronology events and 20,000 referrals, written with bulk inserts
(``bulk_create`` in batches, and ``INSERT … SELECT generate_series`` for the chronology).

Then times, as at today and as at a past date (the state-history path):

- each figure's total and each of its breakdowns (the queries behind a figure page);
- the trends by month, term and year; pace into provision; the DfE return;
- each report page rendered through Django's test client as a CME manager (every
  query a page makes, plus the template).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cmetrack_bench_reports \\
        .venv/bin/python bench/bench_reports.py [--cases 100000] [--events 1000000]

Results are printed and written to bench/results/reports.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/cmetrack_bench_reports"
os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmetrack.config.settings.test")

RUNS = 5
LIMIT_MS = 1000.0


def timed(fn: Callable[[], object], runs: int = RUNS) -> tuple[float, float]:
    """Median and fastest wall time in milliseconds over ``runs`` (after one warm-up). On a
    shared, loaded machine the fastest run is the better guide to the query's own cost."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


PATHS = {
    "received": ["received"],
    "slo_investigation": ["received", "slo_investigation"],
    "tracking": ["received", "tracking"],
    "dormant": ["received", "tracking", "dormant"],
    "located": ["received", "tracking", "located"],
    "needs_assessment": ["received", "tracking", "located", "needs_assessment"],
    "awaiting_provision": [
        "received",
        "tracking",
        "located",
        "needs_assessment",
        "awaiting_provision",
    ],
    "in_provision": [
        "received",
        "tracking",
        "located",
        "needs_assessment",
        "awaiting_provision",
        "in_provision",
    ],
}
CLOSED_PATHS = [
    (["received", "closed"], "not_cme"),
    (["received", "slo_investigation", "closed"], "attendance_matter"),
    (["received", "tracking", "closed"], "moved_la"),
    (["received", "tracking", "located", "closed"], "on_roll"),
    (["received", "tracking", "located", "closed"], "home_educated"),
    (PATHS["in_provision"] + ["closed"], "attending_provision"),
]
STATE_WEIGHTS = {
    "closed": 70,
    "received": 2,
    "slo_investigation": 2,
    "tracking": 6,
    "dormant": 6,
    "located": 2,
    "needs_assessment": 2,
    "awaiting_provision": 3,
    "in_provision": 7,
}


def build(n_cases: int, n_events: int) -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from cmetrack.cases.models import Case, CaseStateChange
    from cmetrack.people.choices import Ethnicity, VulnerableGroup
    from cmetrack.people.models import Address, Child, ChildVulnerability
    from cmetrack.referrals.models import Referral

    rng = random.Random(20261125)
    today = timezone.localdate()
    n_children = int(n_cases * 0.9)
    ethnicities = [e.value for e in Ethnicity]
    groups = [g.value for g in VulnerableGroup]
    start = time.perf_counter()
    with transaction.atomic():
        children = [
            Child(
                legal_given_names=f"Given{i}",
                legal_family_name=f"Family{i % 5000}",
                dob=(today - dt.timedelta(days=rng.randint(4 * 365, 17 * 365)))
                if rng.random() > 0.01
                else None,
                sex=rng.choice("FFMMMU"),
                ethnicity=rng.choice(ethnicities) if rng.random() > 0.1 else "",
                sen_provision=rng.choice("NNNNNNKE"),
                in_care=rng.random() < 0.06,
            )
            for i in range(n_children)
        ]
        Child.objects.bulk_create(children, batch_size=5000)
        child_ids = list(Child.objects.order_by("pk").values_list("pk", flat=True))
        Address.objects.bulk_create(
            [
                Address(
                    child_id=cid,
                    line1=f"{cid} High Street",
                    postcode=f"EX{rng.randint(1, 40)} {rng.randint(1, 9)}AB",
                    is_restricted=rng.random() < 0.02,
                )
                for cid in child_ids
                if rng.random() > 0.05
            ],
            batch_size=5000,
        )
        vulns = {(rng.choice(child_ids), rng.choice(groups)) for _ in range(n_children // 8)}
        ChildVulnerability.objects.bulk_create(
            [ChildVulnerability(child_id=c, group=g) for c, g in vulns], batch_size=5000
        )
        print(f"children, addresses, groups: {time.perf_counter() - start:.0f} s")
        states = list(STATE_WEIGHTS)
        weights = list(STATE_WEIGHTS.values())
        cases: list[Case] = []
        histories: list[list[tuple[str, dt.date]]] = []
        routes = ["school", "school", "agency", "public", "other_la", "detection"]
        for i in range(n_cases):
            final = rng.choices(states, weights)[0]
            if final == "closed":
                path, outcome = rng.choice(CLOSED_PATHS)
            else:
                path, outcome = PATHS[final], ""
            referred = today - dt.timedelta(days=rng.randint(0, 3 * 365))
            day = referred
            history = []
            for state in path:
                history.append((state, day))
                day = min(day + dt.timedelta(days=rng.randint(1, 25)), today)
            dates = dict(history)
            cases.append(
                Case(
                    child_id=child_ids[i % n_children],
                    state=path[-1],
                    route=rng.choice(routes),
                    date_referred=referred,
                    located_on=dates.get("located"),
                    located_route="living_here" if "needs_assessment" in dates else "",
                    date_of_assessment=dates.get("needs_assessment"),
                    date_provision_determined=dates.get("awaiting_provision"),
                    date_moved_into_provision=dates.get("in_provision"),
                    outcome=outcome,
                    closed_on=dates.get("closed"),
                )
            )
            histories.append(history)
        Case.objects.bulk_create(cases, batch_size=5000)
        case_ids = list(Case.objects.order_by("pk").values_list("pk", flat=True))
        changes = []
        for cid, history in zip(case_ids, histories, strict=True):
            previous = ""
            for state, day in history:
                at = timezone.make_aware(dt.datetime.combine(day, dt.time(rng.randint(8, 17))))
                changes.append(
                    CaseStateChange(case_id=cid, from_state=previous, to_state=state, at=at)
                )
                previous = state
        CaseStateChange.objects.bulk_create(changes, batch_size=10000)
        print(f"cases and {len(changes)} state changes: {time.perf_counter() - start:.0f} s")
        with connection.cursor() as cursor:
            # n_events chronology rows, spread over the cases, each after its referral.
            cursor.execute(
                "INSERT INTO cases_chronologyevent (case_id, at, kind, summary) "
                "SELECT c.id, c.date_referred + (g %% 200) * interval '1 day', 'note', "
                "'Bench note ' || g FROM generate_series(1, %s) g "
                "JOIN cases_case c ON c.id = (SELECT min(id) FROM cases_case) + (g %% %s)",
                [n_events, n_cases],
            )
        referrals = [
            Referral(
                route=rng.choice(routes),
                given_names="Bench",
                family_name=f"Referral{i}",
                reason="Not attending",
                received_at=timezone.now() - dt.timedelta(days=rng.randint(0, 3 * 365)),
                reference=f"R-B{i:08d}",
            )
            for i in range(n_cases // 5)
        ]
        Referral.objects.bulk_create(referrals, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"built in {time.perf_counter() - start:.0f} s")


def ensure_contacts(n: int) -> None:
    """Contact attempts (two per case on average, the most recent in the last 90 days)."""
    from django.db import connection

    from cmetrack.casework.models import ContactAttempt

    if ContactAttempt.objects.exists():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO casework_contactattempt "
            "(case_id, method, date, with_whom, outcome, notes, recorded_at) "
            "SELECT c.id, 'phone', CURRENT_DATE - (g %% 90), 'Parent', 'no_answer', '', now() "
            "FROM generate_series(1, %s) g "
            "JOIN cases_case c ON c.id = (SELECT min(id) FROM cases_case) + ((g * 7919) %% %s)",
            [n, n // 2],
        )
        cursor.execute("ANALYZE casework_contactattempt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse
    from django.utils import timezone

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    settings.CMETRACK_REQUIRE_2FA = False
    call_command("migrate", verbosity=0)
    from cmetrack.accounts.roles import Role
    from cmetrack.accounts.tests.factories import UserFactory
    from cmetrack.cases.models import Case, ChronologyEvent
    from cmetrack.reports import dfe
    from cmetrack.reports import presenters as pr
    from cmetrack.reports import selectors as sel
    from cmetrack.reports.periods import Grain, Season, term, term_containing, trend_periods

    if Case.objects.count() != args.cases:
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE cases_chronologyevent, cases_casestatechange, referrals_referral, "
                "people_childvulnerability, people_address, cases_case, people_child CASCADE"
            )
        build(args.cases, args.events)
    ensure_contacts(args.cases * 2)
    n_cases = Case.objects.count()
    n_events = ChronologyEvent.objects.count()
    today = timezone.localdate()
    past = today - dt.timedelta(days=200)
    season, year = term_containing(today)
    period = term(season, year)
    results: list[tuple[str, float, float]] = []

    def record(name: str, fn: Callable[[], object]) -> None:
        ms, fastest = timed(fn)
        results.append((name, ms, fastest))
        print(f"{ms:8.1f} ms (fastest {fastest:7.1f})  {name}", flush=True)

    for as_at, when in ((today, "today"), (past, "200 days ago")):
        p = sel.Params(as_at=as_at, period=period, today=today)
        for f in sel.FIGURES.values():
            if f.kind != "as_at" and as_at != today:
                continue
            record(f"{f.key}: total ({when})", lambda f=f, p=p: sel.figure_total(f, p))
            for d in f.dimensions:
                record(f"{f.key}: by {d} ({when})", lambda f=f, d=d, p=p: sel.breakdown(f, d, p))
    for grain, count in pr.TREND_COUNTS.items():
        periods = trend_periods(grain, today, count)
        record(
            f"trend by {grain.value} ({count} periods)",
            lambda ps=periods: sel.trend(ps, as_at=today),
        )
    year_period = trend_periods(Grain.YEAR, today, 1)[0]
    for m in sel.PACE_MEASURES.values():
        record(f"pace {m.key} (academic year)", lambda m=m: sel.pace_histogram(m, year_period))
    autumn = today.year if today.month >= 9 else today.year - 1
    record("DfE return (autumn, with full year)", lambda: dfe.dfe_return(Season.AUTUMN, autumn))

    client = Client()
    manager = UserFactory.create(roles=[Role.CME_MANAGER], email=f"bench-{time.time()}@example.org")
    client.force_login(manager)
    q_past = f"as_at={past.isoformat()}"
    pages = [
        ("dashboard", reverse("reports:dashboard")),
        ("dashboard (as at 200 days ago)", reverse("reports:dashboard") + "?" + q_past),
        ("figure cme by state", reverse("reports:figure", args=["cme"])),
        (
            "figure cme by area (past)",
            reverse("reports:figure", args=["cme"]) + "?dimension=area&" + q_past,
        ),
        (
            "figure cme by year group",
            reverse("reports:figure", args=["cme"]) + "?dimension=year_group",
        ),
        (
            "figure cme by vulnerable group",
            reverse("reports:figure", args=["cme"]) + "?dimension=vulnerable",
        ),
        (
            "figure dormant by review",
            reverse("reports:figure", args=["dormant"]) + "?dimension=review",
        ),
        ("figure no contact", reverse("reports:figure", args=["no_contact"])),
        (
            "figure closed by outcome",
            reverse("reports:figure", args=["closed"]) + "?dimension=outcome",
        ),
        ("cases behind cme (page 1)", reverse("reports:figure-cases", args=["cme"])),
        (
            "cases behind cme, girls (past)",
            reverse("reports:figure-cases", args=["cme"]) + "?dimension=sex&value=F&" + q_past,
        ),
        ("trends by month", reverse("reports:trends")),
        ("trends by term", reverse("reports:trends") + "?grain=term"),
        ("pace into provision", reverse("reports:pace")),
        ("DfE return", reverse("reports:dfe-return")),
        ("checklist", reverse("reports:checklist")),
    ]
    for name, url in pages:

        def get(url: str = url) -> int:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return len(response.content)

        record(f"page: {name}", get)

    slow = [(n, ms) for n, ms, _ in results if ms >= LIMIT_MS]
    load = os.getloadavg()
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        jit = cursor.fetchone()[0]
    lines = [
        "# Reports benchmark",
        "",
        f"PostgreSQL {connection.pg_version // 10000}, {n_cases:,} cases, {n_events:,} chronology "
        f"events; median of {RUNS} runs after one warm-up; as at {today.isoformat()} and "
        f"{past.isoformat()} (the state-history path); period {period.label}.",
        f"Machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f} at the end of the run (other work was running); PostgreSQL jit = {jit}.",
        "Produced by `bench/bench_reports.py`.",
        "",
        "| what | median ms | fastest ms |",
        "|---|---:|---:|",
        *(f"| {n} | {ms:.1f} | {fastest:.1f} |" for n, ms, fastest in results),
        "",
        f"Slowest (median): {max(results, key=lambda r: r[1])[0]} "
        f"({max(r[1] for r in results):.0f} ms). "
        + (
            "Every figure and page is under a second."
            if not slow
            else f"{len(slow)} over a second: " + ", ".join(n for n, _ in slow)
        ),
        "",
    ]
    out = ROOT / "bench" / "results" / "reports.md"
    out.write_text("\n".join(lines))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
