"""Benchmark: what auditing lists per child (issue 17) costs a page, at the demo's size.

Builds the demo authority (``build_demo_authority``: 300 cases through the services, with
their history) into its own SQLite file or DATABASE_URL, then, in this process through
Django's test client as the demo's CME officer, requests each list page ``--runs`` times
with the list audit **on** (as deployed) and **off** (``_audit_lists`` made a no-op), in
alternation, and reports per page: the median wall time of the whole request (middleware,
view, template, the audit insert), the median CPU time of this process for it, the SQL
queries, and the audit rows written per request. The load average is printed before and
after (the machine is shared).

    .venv/bin/python bench/bench_list_audit.py [--runs 15] [--db /tmp/bench_list_audit.sqlite3]

Results are printed and written to bench/results/list_audit-<vendor>.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmetrack.config.settings.dev")

PAGES = (
    ("Work queue, all cases (50 rows)", "/cases/?queue=all"),
    ("Home page (officer's queues)", "/"),
    ("API: cases list (50)", "/api/v1/cases?limit=50"),
    ("Referrals list", "/referrals/"),
    ("Report drill-down: children missing education", "/reports/figures/cme/cases/"),
)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--db", default=str(Path(tempfile.gettempdir()) / "bench_list_audit.sqlite3")
    )
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{args.db}"
    os.environ.setdefault("CMETRACK_VAR_DIR", str(Path(args.db).parent / "bench_list_audit"))

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from cmetrack.accounts.models import User
    from cmetrack.audit.middleware import ChildReadAuditMiddleware
    from cmetrack.audit.models import AuditEvent
    from cmetrack.demo.services import build_demo_authority, demo_email, demo_exists

    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    call_command("migrate", verbosity=0)
    if not demo_exists():
        started = time.perf_counter()
        build_demo_authority(seed=1, schools=40, pupils=3_000, cases=300)
        print(f"demo built in {time.perf_counter() - started:.0f} s")
    officer = User.objects.get(email=demo_email("officer"))
    client = Client()
    client.force_login(officer)
    real = ChildReadAuditMiddleware._audit_lists

    def off(*_args: object, **_kwargs: object) -> None:
        return None

    load_before = os.getloadavg()
    rows = []
    for title, url in PAGES:
        client.get(url)  # warm: templates, caches
        times: dict[str, list[float]] = {"on": [], "off": []}
        cpu: dict[str, list[float]] = {"on": [], "off": []}
        queries = {}
        written = {}
        for _ in range(args.runs):
            for mode in ("on", "off"):
                ChildReadAuditMiddleware._audit_lists = real if mode == "on" else off  # type: ignore[method-assign]
                before = AuditEvent.objects.count()
                with CaptureQueriesContext(connection) as captured:
                    c0, t0 = time.process_time(), time.perf_counter()
                    response = client.get(url)
                    t1, c1 = time.perf_counter(), time.process_time()
                assert response.status_code == 200, (url, response.status_code)
                times[mode].append((t1 - t0) * 1000)
                cpu[mode].append((c1 - c0) * 1000)
                queries[mode] = len(captured)
                written[mode] = AuditEvent.objects.count() - before
        ChildReadAuditMiddleware._audit_lists = real  # type: ignore[method-assign]
        on, off_ = statistics.median(times["on"]), statistics.median(times["off"])
        rows.append(
            f"| {title} | `{url}` | {off_:.1f} | {on:.1f} | {on - off_:+.1f} | "
            f"{statistics.median(cpu['off']):.1f} | {statistics.median(cpu['on']):.1f} | "
            f"{queries['off']} → {queries['on']} | {written['on']} |"
        )
    load_after = os.getloadavg()
    vendor = connection.vendor
    out = [
        f"# Auditing lists per child: cost per page ({vendor})",
        "",
        "Command: `.venv/bin/python bench/bench_list_audit.py --runs "
        f"{args.runs}` (demo: 40 schools, 3,000 pupils, 300 cases through the services; "
        "Django test client in-process as the demo CME officer, DEBUG off; each page "
        f"{args.runs} times with the list audit on and off, alternating; medians).",
        "",
        f"Load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}; "
        f"after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} (2 cores, shared).",
        "",
        "| page | URL | wall ms, off | wall ms, on | difference | CPU ms, off | CPU ms, on "
        "| queries off → on | audit rows written (on) |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Wall and CPU are the whole request in this process (middleware, view, template and "
        "the audit insert). The list audit adds one INSERT per response, whatever the "
        "number of children shown (rows written = children shown, plus the view's own rows "
        "if any).",
    ]
    text = "\n".join(out) + "\n"
    print(text)
    target = ROOT / "bench" / "results" / f"list_audit-{vendor}.md"
    target.write_text(text)
    print(f"written to {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
