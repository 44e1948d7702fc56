"""Benchmark: the dormant review queues (/dormant-reviews/, GET /api/v1/dormant-reviews).

Builds (once) a synthetic authority in its own SQLite file (or DATABASE_URL): N cases
(default 100,000) of which 15% are dormant, each with the state change that made it
dormant (0 to 200 days ago) and 0 to 6 monthly reviews; 20 officers and a manager. Then
times what the queue page asks for, as a manager (every dormant case) and an officer
(their own): the overdue count and first page of 50, and the due-this-week count and list.
Each answer is checked against the pure rule (rules.next_dormant_review) case by case.

    .venv/bin/python bench/bench_safeguarding_reviews.py [--cases 100000] [--db /tmp/x.sqlite3]

Results are printed and written to bench/results/safeguarding_reviews-<vendor>.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmetrack.config.settings.dev")

RUNS = 5


def timed(fn: Callable[[], object], runs: int = RUNS) -> tuple[float, object]:
    """Median wall time in milliseconds over ``runs`` (after one warm-up) and the result."""
    result = fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def build(n_cases: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from cmetrack.accounts.models import User, UserRole
    from cmetrack.cases.lifecycle import CaseState
    from cmetrack.cases.models import Case, CaseStateChange
    from cmetrack.people.models import Child
    from cmetrack.safeguarding.models import DormantReview

    rng = random.Random(20261125)
    today = timezone.localdate()
    with transaction.atomic():
        officers = [
            User.objects.create_user(f"bench-officer-{i}@example.org", None, full_name=f"O {i}")
            for i in range(20)
        ]
        manager = User.objects.create_user("bench-manager@example.org", None, full_name="M")
        UserRole.objects.bulk_create(
            [UserRole(user=o, role="cme_officer") for o in officers]
            + [UserRole(user=manager, role="cme_manager")]
        )
        children = Child.objects.bulk_create(
            [
                Child(legal_given_names=f"Child{i}", legal_family_name=f"Bench{i}")
                for i in range(n_cases)
            ],
            batch_size=5000,
        )
        others = [s for s in CaseState if s != CaseState.DORMANT]
        cases = Case.objects.bulk_create(
            [
                Case(
                    child=c,
                    route="agency",
                    state=CaseState.DORMANT if rng.random() < 0.15 else rng.choice(others),
                    date_referred=today - dt.timedelta(days=rng.randint(200, 700)),
                    assigned_officer=rng.choice(officers),
                )
                for c in children
            ],
            batch_size=5000,
        )
        changes, reviews = [], []
        for case in cases:
            if case.state != CaseState.DORMANT:
                continue
            went = today - dt.timedelta(days=rng.randint(0, 200))
            at = timezone.make_aware(dt.datetime.combine(went, dt.time(10)))
            changes.append(
                CaseStateChange(case=case, from_state="tracking", to_state="dormant", at=at)
            )
            day = went
            for _ in range(rng.randint(0, 6)):
                day += dt.timedelta(days=rng.randint(20, 40))
                if day > today:
                    break
                reviews.append(
                    DormantReview(case=case, reviewed_on=day, checked="x", result="y",
                                  risk_level_holds=True)
                )  # fmt: skip
        CaseStateChange.objects.bulk_create(changes, batch_size=5000)
        DormantReview.objects.bulk_create(reviews, batch_size=5000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    default_db = Path(tempfile.gettempdir()) / "cmetrack_bench_safeguarding.sqlite3"
    parser.add_argument("--db", default=str(default_db))
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{args.db}")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from cmetrack.accounts.models import User
    from cmetrack.cases.models import Case
    from cmetrack.rules import next_dormant_review
    from cmetrack.safeguarding import selectors
    from cmetrack.safeguarding.rules import week_end

    call_command("migrate", verbosity=0)
    if not Case.objects.exists():
        start = time.perf_counter()
        build(args.cases)
        print(f"built {args.cases} cases in {time.perf_counter() - start:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    officer = User.objects.get(email="bench-officer-0@example.org")
    manager = User.objects.get(email="bench-manager@example.org")
    today = timezone.localdate()

    rows: list[tuple[str, float, str]] = []
    for who, user in (("manager", manager), ("officer", officer)):
        overdue = selectors.overdue_reviews(user, today=today)
        week = selectors.reviews_due_this_week(user, today=today)
        ms, n = timed(overdue.count)
        rows.append((f"{who}: overdue count", ms, f"{n} cases"))
        ms, page = timed(lambda q=overdue: list(q[:50]))
        rows.append((f"{who}: overdue, first 50 rows (child, officer)", ms, f"{len(page)} rows"))  # type: ignore[arg-type]
        ms, n = timed(week.count)
        rows.append((f"{who}: due this week, count", ms, f"{n} cases"))

    # Check the set-based answer against the rule, case by case (manager: every dormant case).
    expected_overdue, expected_week = set(), set()
    for case in Case.objects.filter(state="dormant"):
        base = selectors.review_base(case)
        assert base is not None
        due = next_dormant_review(base)
        if today > due:
            expected_overdue.add(case.pk)
        elif due <= week_end(today):
            expected_week.add(case.pk)
    got_overdue = set(selectors.overdue_reviews(manager, today=today).values_list("pk", flat=True))
    got_week = set(
        selectors.reviews_due_this_week(manager, today=today).values_list("pk", flat=True)
    )
    assert got_overdue == expected_overdue, "overdue differs from the rule"
    assert got_week == expected_week, "due this week differs from the rule"

    sql, params = selectors.overdue_reviews(manager, today=today)[:50].query.sql_with_params()
    with connection.cursor() as c:
        c.execute(
            ("EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN ") + sql, params
        )
        plan = [" ".join(str(x) for x in r) for r in c.fetchall()]

    dormant = Case.objects.filter(state="dormant").count()
    lines = [
        f"# Dormant review queues at {Case.objects.count():,} cases ({connection.vendor})",
        "",
        f"Dormant cases: {dormant:,}. Today: {today.isoformat()}. Times are medians of {RUNS} "
        "runs after a warm-up, in milliseconds, through `safeguarding.selectors` (the page "
        "and the API use them). The sets were checked against `rules.next_dormant_review` "
        "case by case: identical.",
        "",
        "| query | ms | result |",
        "|---|---:|---|",
        *(f"| {label} | {ms:.1f} | {result} |" for label, ms, result in rows),
        "",
        "Plan of the manager's overdue page:",
        "",
        *(f"    {line}" for line in plan),
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = ROOT / "bench" / "results" / f"safeguarding_reviews-{connection.vendor}.md"
    out.write_text(text)


if __name__ == "__main__":
    main()
