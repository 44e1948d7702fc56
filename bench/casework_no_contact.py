"""Benchmark: the follow-up queue (cases with no contact for 30 days) at 100,000 cases.

Builds (once) a synthetic authority with N cases (default 100,000; 85% open), each with
0-5 contact attempts spread over the last 120 days, then times the queries the
"Cases with no recent contact" page and ``cmetrack followup_prompts`` make:

- the count shown on the page (``Paginator.count``),
- the first page and page 1,000 (50 rows, oldest gap first),
- the candidate list of the command (every due case's id and gap start).

Run against a database made for it (it is migrated and filled if empty)::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cmetrack_casework_bench \\
        .venv/bin/python bench/casework_no_contact.py [--cases 100000]

Results are printed and written to bench/results/casework_no_contact-<vendor>.txt.
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
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmetrack.config.settings.dev")


def timed(fn: Callable[[], object], runs: int = 5) -> tuple[float, object]:
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
    from cmetrack.cases.models import Case
    from cmetrack.casework.models import ContactAttempt
    from cmetrack.people.models import Child

    rng = random.Random(20261125)
    today = timezone.localdate()
    with transaction.atomic():
        officers = [
            User.objects.create_user(f"bench-officer-{i}@example.org", None, full_name=f"O {i}")
            for i in range(20)
        ]
        UserRole.objects.bulk_create([UserRole(user=o, role="cme_officer") for o in officers])
        children = Child.objects.bulk_create(
            [
                Child(legal_given_names=f"Child{i}", legal_family_name=f"Bench{i % 5000}")
                for i in range(n_cases)
            ],
            batch_size=5000,
        )
        open_states = [s for s in CaseState if s != CaseState.CLOSED]
        cases = Case.objects.bulk_create(
            [
                Case(
                    child=c,
                    route="agency",
                    state=rng.choice(open_states) if rng.random() < 0.85 else CaseState.CLOSED,
                    date_referred=today - dt.timedelta(days=rng.randint(0, 400)),
                    assigned_officer=rng.choice(officers),
                )
                for c in children
            ],
            batch_size=5000,
        )
        attempts = [
            ContactAttempt(
                case=case,
                method="phone",
                date=today - dt.timedelta(days=rng.randint(0, 120)),
                with_whom="Parent",
                outcome="no_answer",
            )
            for case in cases
            for _ in range(rng.randint(0, 5))
        ]
        ContactAttempt.objects.bulk_create(attempts, batch_size=10000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.core.paginator import Paginator
    from django.db import connection

    from cmetrack.accounts.models import User
    from cmetrack.cases.models import Case
    from cmetrack.casework.models import ContactAttempt
    from cmetrack.casework.selectors import (
        cases_without_contact_since,
        no_contact_page,
        without_contact,
    )

    call_command("migrate", verbosity=0)
    if not Case.objects.exists():
        start = time.perf_counter()
        build(args.cases)
        print(f"built {args.cases} cases in {time.perf_counter() - start:.1f} s")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
    officer = User.objects.filter(email__startswith="bench-officer-").first()
    assert officer is not None
    queue = cases_without_contact_since(officer).select_related("child", "assigned_officer")

    lines = [
        f"database: {connection.vendor}",
        f"cases: {Case.objects.count()}, open: "
        f"{Case.objects.exclude(state='closed').count()}, "
        f"contact attempts: {ContactAttempt.objects.count()}",
        "times are medians of 5 runs after a warm-up, in milliseconds",
    ]
    ms, count = timed(lambda: Paginator(queue, 50).count)
    lines.append(f"queue count ({count} cases due): {ms:.1f} ms")
    ms, _ = timed(lambda: list(Paginator(queue, 50).page(1).object_list))
    lines.append(f"one query, first page (50 rows, with child and officer): {ms:.1f} ms")
    # What the page does (selectors.no_contact_page): count, ids, then 50 cases.
    pages = Paginator(queue, 50).num_pages
    for number in (1, min(1000, pages)):

        def view_page(n: int = number) -> object:
            return list(no_contact_page(officer, n).object_list)

        ms, _ = timed(view_page)
        lines.append(f"page view query set, page {number} of {pages}: {ms:.1f} ms")
    ms, rows = timed(
        lambda: list(without_contact(Case.objects.all()).values_list("pk", "last_contact"))  # type: ignore[misc]
    )
    lines.append(f"followup_prompts candidate list ({len(rows)} rows): {ms:.1f} ms")  # type: ignore[arg-type]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            ids = queue.values_list("pk", flat=True)[:50]
            sql, params = ids.query.sql_with_params()
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS OFF) " + sql, params)
            lines.append("plan of the first page of ids:")
            lines.extend("    " + r[0] for r in cursor.fetchall())

    text = "\n".join(lines) + "\n"
    print(text)
    out = ROOT / "bench" / "results" / f"casework_no_contact-{connection.vendor}.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text(text)


if __name__ == "__main__":
    main()
