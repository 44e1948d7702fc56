"""Benchmark: the front door's reads at 100,000 referrals and 100,000 children.

Builds (once) a synthetic authority in its own SQLite file (or DATABASE_URL): N referrals
(default 100,000; 30% waiting for triage) from 30 schools, an agency and the public, and
N children with realistic surnames and dates of birth. Then times, as a CME officer and as
one school's user:

- the triage queue: total, first page, a page deep in the queue (OFFSET), one route;
- a school's "Your referrals": total and first page;
- ``possible_duplicates`` for referrals with and without a date of birth, and the query
  plan of its candidate query (it must use indexes, not scan the children table).

    .venv/bin/python bench/bench_referrals.py [--n 100000] [--db /tmp/bench_referrals.sqlite3]

Results are printed and written to bench/results/referrals-<vendor>.md.
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

RUNS = 5
SURNAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Wright",
    "Robinson",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Thomas",
    "Clarke",
    "Jackson",
    "Wood",
    "Harris",
    "Edwards",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Hughes",
    "Moore",
    "Clark",
    "King",
    "Harrison",
    "Lewis",
    "Baker",
    "Lee",
    "Allen",
    "Morris",
    "Khan",
    "Scott",
    "Watson",
    "Davis",
    "Parker",
    "James",
    "Bennett",
    "Young",
    "Phillips",
    "Richardson",
    "Mitchell",
    "Bailey",
    "Carter",
    "Cook",
    "Singh",
    "Shaw",
    "Bell",
    "Collins",
    "Morgan",
    "Kelly",
    "Begum",
    "Miller",
    "Cox",
    "Hussain",
    "Marshall",
    "Simpson",
    "Price",
    "Anderson",
    "Adams",
    "Wilkinson",
    "Ali",
    "Ahmed",
    "Foster",
    "Ellis",
    "Murphy",
    "Chapman",
    "Mason",
    "Gray",
    "Richards",
    "Webb",
    "Griffiths",
    "Hunt",
    "Palmer",
    "Campbell",
    "Holmes",
    "Mills",
    "Rogers",
    "Barnes",
    "Knight",
    "Matthews",
    "Barker",
    "Powell",
    "Stevens",
    "Kaur",
    "Fisher",
    "Butler",
    "Dixon",
    "Russell",
    "Harvey",
    "Pearson",
    "Graham",
    "Kowalski",
    "Nowak",
    "Popescu",
    "Ionescu",
    "Okafor",
    "Mensah",
    "Osei",
    "Silva",
    "Santos",
]
GIVEN = [
    "Ava",
    "Ben",
    "Chloe",
    "Daniel",
    "Ella",
    "Finn",
    "Grace",
    "Harry",
    "Isla",
    "Jack",
    "Kai",
    "Lily",
    "Mia",
    "Noah",
    "Olivia",
    "Oscar",
    "Ruby",
    "Sam",
    "Theo",
    "Zara",
    "Amir",
    "Aisha",
    "Jakub",
    "Ola",
    "Yusuf",
    "Maryam",
    "Leo",
    "Freya",
    "Ivy",
    "Max",
]


def timed(fn: Callable[[], object], runs: int = RUNS) -> tuple[float, object]:
    result = fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def build(n: int) -> None:
    from django.db import transaction
    from django.utils import timezone

    from cmetrack.accounts.models import User, UserRole
    from cmetrack.organisations.models import Organisation, OrganisationKind
    from cmetrack.people.models import Child
    from cmetrack.referrals.models import Referral, ReferralStatus

    rng = random.Random(20261125)
    now = timezone.now()

    def dob() -> dt.date:
        return dt.date(2009, 9, 1) + dt.timedelta(days=rng.randint(0, 12 * 365))

    with transaction.atomic():
        schools = Organisation.objects.bulk_create(
            [
                Organisation(kind=OrganisationKind.SCHOOL, name=f"Bench {i}", urn=str(710000 + i))
                for i in range(30)
            ]
        )
        agency = Organisation.objects.create(kind=OrganisationKind.AGENCY, name="Bench agency")
        officer = User.objects.create_user("bench-ref-officer@example.org", None, full_name="O")
        school_user = User.objects.create_user(
            "bench-ref-school@example.org", None, full_name="S", organisation=schools[0]
        )
        UserRole.objects.bulk_create(
            [
                UserRole(user=officer, role="cme_officer"),
                UserRole(user=school_user, role="school_user"),
            ]
        )
        Child.objects.bulk_create(
            [
                Child(
                    legal_given_names=rng.choice(GIVEN),
                    legal_family_name=rng.choice(SURNAMES),
                    dob=dob() if rng.random() < 0.97 else None,
                )
                for _ in range(n)
            ],
            batch_size=5000,
        )
        rows = []
        for i in range(n):
            route = rng.choices(["school", "agency", "public"], weights=[6, 3, 1])[0]
            school = rng.choice(schools) if route == "school" else None
            rows.append(
                Referral(
                    reference=f"R-B{i:07d}",
                    route=route,
                    status=ReferralStatus.RECEIVED if rng.random() < 0.3 else "linked",
                    received_at=now - dt.timedelta(minutes=rng.randint(0, 700 * 24 * 60)),
                    referring_organisation=school or (agency if route == "agency" else None),
                    school=school,
                    given_names=rng.choice(GIVEN),
                    family_name=rng.choice(SURNAMES),
                    dob=dob(),
                    reason="bench",
                )
            )
        Referral.objects.bulk_create(rows, batch_size=5000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--db", default="/tmp/cmetrack_bench_referrals.sqlite3")  # noqa: S108
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{args.db}")

    import django

    django.setup()
    from django.core.management import call_command
    from django.core.paginator import Paginator
    from django.db import connection

    from cmetrack.accounts.models import User
    from cmetrack.people.models import Child
    from cmetrack.referrals.duplicates import possible_duplicates
    from cmetrack.referrals.models import Referral
    from cmetrack.referrals.selectors import referrals_visible_to, triage_queue

    call_command("migrate", verbosity=0)
    if not Referral.objects.filter(reference__startswith="R-B").exists():
        start = time.perf_counter()
        build(args.n)
        print(
            f"built {args.n} referrals and {args.n} children in {time.perf_counter() - start:.1f} s"
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    officer = User.objects.get(email="bench-ref-officer@example.org")
    school_user = User.objects.get(email="bench-ref-school@example.org")
    queue = triage_queue(officer)
    mine = referrals_visible_to(school_user).order_by("-received_at", "-id")
    sample = Child.objects.exclude(dob=None).order_by("pk")[1234]
    rows: list[tuple[str, float, str]] = []

    def add(name: str, fn: Callable[[], object], note: Callable[[object], str] = str) -> None:
        ms, result = timed(fn)
        rows.append((name, ms, note(result)))
        print(f"{name:<60} {ms:8.1f} ms  {note(result)}")

    add("triage queue: total waiting", queue.count)
    add(
        "triage queue: first page (25, newest first)",
        lambda: len(Paginator(queue, 25).page(1).object_list),
        lambda r: f"{r} rows",
    )
    add(
        "triage queue: page at row 20,000 (OFFSET)",
        lambda: len(list(queue[20_000:20_025])),
        lambda r: f"{r} rows",
    )
    add(
        "triage queue: public route, first page",
        lambda: len(list(triage_queue(officer, route="public")[:25])),
        lambda r: f"{r} rows",
    )
    add("a school's referrals: total", mine.count)
    add(
        "a school's referrals: first page (25)", lambda: len(list(mine[:25])), lambda r: f"{r} rows"
    )
    add(
        "possible_duplicates: name + DOB of an existing child",
        lambda: possible_duplicates(
            given_names=sample.legal_given_names,
            family_name=sample.legal_family_name,
            dob=sample.dob,
            upn=None,
            postcode=None,
        ),
        lambda r: f"{len(r)} found",  # type: ignore[arg-type]
    )
    add(
        "possible_duplicates: name only (no DOB; capped candidates)",
        lambda: possible_duplicates(
            given_names=sample.legal_given_names,
            family_name=sample.legal_family_name,
            dob=None,
            upn=None,
            postcode=None,
        ),
        lambda r: f"{len(r)} found",  # type: ignore[arg-type]
    )
    from django.db.models import Q

    plan_qs = Child.objects.filter(
        Q(dob__in=[sample.dob])
        | Q(legal_family_name__gte="Kow", legal_family_name__lt="Kox", dob__isnull=True)
    )
    plan = plan_qs.explain()
    print(plan)
    vendor = connection.vendor
    out = ROOT / "bench" / "results" / f"referrals-{vendor}.md"
    with out.open("w") as f:
        f.write(f"# Referrals at {args.n:,} referrals and {args.n:,} children ({vendor})\n\n")
        f.write("Median of 5 runs after a warm-up. `bench/bench_referrals.py`.\n\n")
        f.write("| what | ms | result |\n|---|---:|---|\n")
        for name, ms, note in rows:
            f.write(f"| {name} | {ms:.1f} | {note} |\n")
        f.write(f"\nCandidate query plan for possible_duplicates:\n\n```\n{plan}\n```\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
