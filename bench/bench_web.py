"""Load test: N signed-in CME officers and managers using the pages over HTTP (issue 15).

A stand-in for a headless locust run, written with the standard library (threads and
urllib) so that it needs nothing beyond the project's environment. Each virtual user is a
real person's browser: it signs in through the sign-in form (and the two-factor step, with
a code from its own authenticator key, as a phone would make it), keeps its own session
cookie, then loops: one page, a think time (5 s on average: uniform from half to one and
a half times ``--think``), the next page. The pages, in turn from a random start:

- ``home``: the home page (queues, overdue tasks, enquiries, delays for a place);
- ``queue``: the case queue's first page (an officer's own cases, a manager's open ones);
- ``queue_deep``: a page of the open queue 20,000 rows in (keyset cursor);
- ``name_search``: the open queue searched by a child's family name (or its first letters,
  or given name and family name);
- ``case``, ``chronology``, ``child``: a case the user works, its chronology, its child;
- ``find_a_child``: the matching search (POST of the form: names and date of birth);
- ``reports``: the reports dashboard; ``alerts``: the alerts list; ``tasks``: my tasks.

Ids and names come from the database before the run (Django is set up only for that and
for the users' authenticator keys; nothing is requested through it). Only 127.0.0.1 is
load-tested. The run is bounded: ``--duration`` seconds (default 300) and at most
``--max-requests`` requests.

With ``--serve`` the script starts gunicorn itself (``deploy/gunicorn.conf.py``, production
settings, a random SECRET_KEY, the DATABASE_URL given, DEBUG off) after migrate and
collectstatic, measures the CPU time of gunicorn's processes and of PostgreSQL's, and stops
it at the end. Otherwise give ``--url`` of a server already running (then only PostgreSQL's
CPU and the load average are measured, and ``--gunicorn-pid`` adds gunicorn's).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cmetrack_bench \\
        .venv/bin/python bench/bench_web.py --serve --users 50 --duration 300 \\
        --output bench/results/web-county-postgresql.md

The users are the demo's load-test accounts: ``demo_data --officers 45 --managers 5``
makes officer@, officer2@ ... officer45@ and manager@ ... manager5@ (password
``demo-password-2026``). Each gets a fresh authenticator key before the run.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.cookiejar
import os
import random
import re
import secrets
import string
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "demo-password-2026"  # noqa: S105  (the synthetic demo accounts' password)
PAGES = (
    "home",
    "queue",
    "queue_deep",
    "name_search",
    "case",
    "chronology",
    "child",
    "find_a_child",
    "reports",
    "alerts",
    "tasks",
)
TARGET_P95_MS = 150.0


# --- HTTP --------------------------------------------------------------------------------


class BehindTlsProxyPolicy(http.cookiejar.DefaultCookiePolicy):
    """Send ``Secure`` cookies on the plain-HTTP hop to gunicorn, as behind the TLS proxy."""

    def return_ok_secure(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return True


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    def __init__(self, base_url: str, host: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = host
        self.jar = http.cookiejar.CookieJar(BehindTlsProxyPolicy())
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )

    def request(
        self, path: str, data: dict[str, str] | None = None, timeout: float = 60
    ) -> tuple[int, str, str, float]:
        """(status, body, Location, seconds) of one request (redirects not followed)."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(  # noqa: S310  (http://127.0.0.1 only: checked)
            self.base_url + path, data=body, method="POST" if data is not None else "GET"
        )
        req.add_header("Host", self.host)
        req.add_header("X-Forwarded-Proto", "https")
        req.add_header("User-Agent", "cmetrack-bench-web")
        if data is not None:
            req.add_header("Origin", f"https://{self.host}")
            req.add_header("Referer", f"https://{self.host}{path}")
        started = time.perf_counter()
        try:
            with self.opener.open(req, timeout=timeout) as raw:
                status, text, location = (
                    raw.status,
                    raw.read().decode("utf-8", "replace"),
                    raw.headers.get("Location", ""),
                )
        except urllib.error.HTTPError as exc:
            status, text, location = (
                exc.code,
                exc.read().decode("utf-8", "replace"),
                exc.headers.get("Location", ""),
            )
        return status, text, location, time.perf_counter() - started


CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def totp(key_hex: str, at: float | None = None) -> str:
    """RFC 6238 code (SHA-1, 6 digits, 30 s) from a django-otp hex key."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


def _path_of(location: str) -> str:
    parts = urllib.parse.urlsplit(location)
    return urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))


def sign_in(browser: Browser, email: str, key_hex: str) -> str:
    """Sign in through the forms; "" when it worked, else what went wrong."""
    status, text, _, _ = browser.request("/sign-in/")
    token = CSRF.search(text)
    if status != 200 or token is None:
        return f"sign-in page answered {status}"
    status, text, location, _ = browser.request(
        "/sign-in/",
        {"csrfmiddlewaretoken": token.group(1), "username": email, "password": PASSWORD},
    )
    for _ in range(5):  # follow the redirects: the home page, or the two-factor step first
        if status != 302:
            break
        path = _path_of(location)
        status, text, location, _ = browser.request(path)
        if status == 200 and "/two-factor/" in path:
            token = CSRF.search(text)
            if token is None:
                return f"the two-factor page {path} has no form"
            status, text, location, _ = browser.request(
                path, {"csrfmiddlewaretoken": token.group(1), "code": totp(key_hex)}
            )
    if status != 200:
        return f"signing in ended with {status}"
    status, _, location, _ = browser.request("/")
    return "" if status == 200 else f"the home page answered {status} ({location})"


# --- what each user asks for ---------------------------------------------------------------


@dataclass
class UserPlan:
    email: str
    key_hex: str
    is_manager: bool
    cases: list[int] = field(default_factory=list)
    children: list[int] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    people: list[dict[str, str]] = field(default_factory=list)


def setup_django(settings: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = settings
    import django

    django.setup()


def make_plans(n_users: int, seed: int) -> tuple[list[UserPlan], str]:
    """The users (officers first, then managers in proportion), their keys and data."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from cmetrack.accounts.models import User
    from cmetrack.cases.lifecycle import OPEN_STATES
    from cmetrack.cases.models import Case
    from cmetrack.cases.selectors import encode_cursor
    from cmetrack.demo.services import demo_email

    rng = random.Random(seed)
    officers = [demo_email("officer")] + [demo_email(f"officer{i}") for i in range(2, 200)]
    managers = [demo_email("manager")] + [demo_email(f"manager{i}") for i in range(2, 50)]
    existing = set(
        User.objects.filter(email__in=officers + managers, is_active=True).values_list(
            "email", flat=True
        )
    )
    officers = [e for e in officers if e in existing]
    managers = [e for e in managers if e in existing]
    n_managers = min(len(managers), max(1, n_users // 10))
    chosen = [(e, True) for e in managers[:n_managers]]
    chosen += [(e, False) for e in officers[: n_users - len(chosen)]]
    if len(chosen) < n_users:
        raise SystemExit(
            f"Only {len(chosen)} demo officers and managers: build the demo with "
            f"--officers {n_users - n_managers} --managers {n_managers}."
        )
    open_cases = Case.objects.filter(state__in=list(OPEN_STATES))
    plans = []
    for email, is_manager in chosen:
        user = User.objects.get(email=email)
        TOTPDevice.objects.filter(user=user).delete()
        key = secrets.token_hex(20)
        TOTPDevice.objects.create(user=user, name="bench", key=key, confirmed=True)
        mine = open_cases if is_manager else open_cases.filter(assigned_officer=user)
        rows = list(
            mine.order_by("?").values_list(
                "pk", "child_id", "child__legal_given_names", "child__legal_family_name",
                "child__dob",
            )[:20]
        )  # fmt: skip
        plan = UserPlan(email=email, key_hex=key, is_manager=is_manager)
        for pk, child_id, given, family, dob in rows:
            plan.cases.append(pk)
            plan.children.append(child_id)
            first_given = given.split()[0] if given else ""
            plan.searches += [family, family[:3], f"{first_given} {family}"]
            plan.people.append(
                {
                    "given_names": first_given,
                    "family_name": family,
                    "dob_day": str(dob.day) if dob else "",
                    "dob_month": str(dob.month) if dob else "",
                    "dob_year": str(dob.year) if dob else "",
                }
            )
        rng.shuffle(plan.searches)
        plans.append(plan)
    deep = list(open_cases.order_by("date_referred", "pk")[20_000:20_001]) or list(
        open_cases.order_by("-date_referred", "-pk")[:1]
    )
    cursor = encode_cursor(deep[0]) if deep else ""
    return plans, cursor


def url_for(page: str, plan: UserPlan, deep_cursor: str, n: int) -> tuple[str, dict | None]:
    def pick(items: list[Any]) -> Any:
        return items[n % len(items)]

    q = urllib.parse.urlencode
    if page == "home":
        return "/", None
    if page == "queue":
        return "/cases/", None
    if page == "queue_deep":
        return "/cases/?" + q({"queue": "open", "after": deep_cursor}), None
    if page == "name_search":
        return "/cases/?" + q({"queue": "open", "q": pick(plan.searches)}), None
    if page == "case":
        return f"/cases/{pick(plan.cases)}/", None
    if page == "chronology":
        return f"/cases/{pick(plan.cases)}/chronology/", None
    if page == "child":
        return f"/children/{pick(plan.children)}/", None
    if page == "find_a_child":
        return "/find-a-child/", pick(plan.people)
    if page == "reports":
        return "/reports/", None
    if page == "alerts":
        return "/alerts/", None
    if page == "tasks":
        return "/tasks/", None
    raise ValueError(page)


# --- the run -----------------------------------------------------------------------------


@dataclass
class Results:
    #: Requests that start before this (time.monotonic) are the warm-up: not counted.
    measure_from: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    sign_in_failures: list[str] = field(default_factory=list)
    requests: int = 0

    def add(self, page: str, seconds: float, error: str = "", started: float = 0.0) -> None:
        if started < self.measure_from:
            return
        with self.lock:
            self.requests += 1
            self.times[page].append(seconds * 1000)
            if error:
                self.errors[page].append(error)


def virtual_user(
    plan: UserPlan,
    args: argparse.Namespace,
    deep_cursor: str,
    results: Results,
    stop_at: float,
    start_delay: float,
) -> None:
    rng = random.Random(plan.email)
    time.sleep(start_delay)
    browser = Browser(args.url, args.host)
    problem = sign_in(browser, plan.email, plan.key_hex)
    if problem:
        with results.lock:
            results.sign_in_failures.append(f"{plan.email}: {problem}")
        return
    order = list(PAGES)
    rng.shuffle(order)
    n = 0
    while time.monotonic() < stop_at:
        with results.lock:
            if results.requests >= args.max_requests:
                return
        page = order[n % len(order)]
        path, form = url_for(page, plan, deep_cursor, n // len(order))
        error = ""
        began = time.monotonic()
        try:
            if form is not None:  # the search form: its page first (the token), then POST
                status, text, _, _ = browser.request(path)
                token = CSRF.search(text)
                data = {**form, "csrfmiddlewaretoken": token.group(1) if token else ""}
                status, text, _, seconds = browser.request(path, data)
            else:
                status, text, _, seconds = browser.request(path)
            if status != 200:
                error = f"{status} at {path}"
        except Exception as exc:
            seconds, error = 60.0, f"{type(exc).__name__} at {path}: {exc}"
        results.add(page, seconds, error, began)
        n += 1
        time.sleep(args.think * rng.uniform(0.5, 1.5))


# --- CPU and load --------------------------------------------------------------------------


def _cpu_seconds(pid: int, with_children: bool = False) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if with_children:
        ticks += int(fields[13]) + int(fields[14])  # waited-for children (old workers)
    return ticks / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def gunicorn_cpu(master: int) -> float:
    return _cpu_seconds(master, with_children=True) + sum(
        _cpu_seconds(p) for p in _children(master)
    )


def postgres_cpu() -> float:
    """CPU of the PostgreSQL server: the postmaster, the backends it has reaped, and the
    live ones. The server is shared, so other databases' work counts too."""
    total = 0.0
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() != "postgres":
                continue
            pid = int(comm.parent.name)
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            continue
        parent = Path(f"/proc/{fields[1]}/comm")
        try:
            is_postmaster = parent.read_text().strip() != "postgres"
        except OSError:
            is_postmaster = True
        total += _cpu_seconds(pid, with_children=is_postmaster)
    return total


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# --- the server ----------------------------------------------------------------------------


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    var_dir = Path(args.var_dir).resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cmetrack.config.settings.production",
        "SECRET_KEY": "".join(
            secrets.choice(string.ascii_letters + string.digits) for _ in range(50)
        ),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CMETRACK_VAR_DIR": str(var_dir),
        "CMETRACK_WEB_BIND": f"127.0.0.1:{args.port}",
        "DEBUG": "false",
    }
    if args.workers:
        env["CMETRACK_WEB_WORKERS"] = str(args.workers)
    if args.threads:
        env["CMETRACK_WEB_THREADS"] = str(args.threads)
    cmetrack = str(ROOT / ".venv" / "bin" / "cmetrack")
    for command in (
        ["migrate", "--no-input", "-v", "0"],
        ["collectstatic", "--no-input", "-v", "0"],
    ):
        subprocess.run([cmetrack, *command], env=env, check=True)  # noqa: S603
    if args.build_index:
        started = time.monotonic()
        subprocess.run([cmetrack, "build_search_index"], env=env, check=True)  # noqa: S603
        print(f"search index built in {time.monotonic() - started:.0f} s")
    config = ROOT / "deploy" / "gunicorn.conf.py"
    command = [str(ROOT / ".venv" / "bin" / "gunicorn")]
    if config.exists():
        command += ["-c", str(config)]
        env.setdefault("CMETRACK_WEB_ACCESS_LOG", "off")
    else:
        command += [
            "cmetrack.config.wsgi:application",
            "--bind", f"127.0.0.1:{args.port}",
            "--workers", str(args.workers or 5), "--worker-class", "gthread",
            "--threads", str(args.threads or 4), "--timeout", "60",
        ]  # fmt: skip
    log = open(var_dir / "gunicorn.log", "wb")  # noqa: SIM115  (kept open while it runs)
    server = subprocess.Popen(command, env=env, stdout=log, stderr=log)  # noqa: S603
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{args.port}/sign-in/", timeout=2)
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"gunicorn stopped; see {var_dir / 'gunicorn.log'}") from None
            time.sleep(0.5)
    return server, env


# --- report --------------------------------------------------------------------------------


def report(
    args: argparse.Namespace,
    results: Results,
    wall: float,
    cpu: dict[str, float],
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
    setup: str,
) -> str:
    lines = [
        "| page | requests | errors | p50 ms | p95 ms | p99 ms | max ms | p95 ≤ 150 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for page in PAGES:
        t = results.times.get(page, [])
        errs = len(results.errors.get(page, []))
        p95 = percentile(t, 95)
        lines.append(
            f"| {page} | {len(t)} | {errs} | {percentile(t, 50):.0f} | {p95:.0f} | "
            f"{percentile(t, 99):.0f} | {max(t) if t else float('nan'):.0f} | "
            f"{'yes' if t and p95 <= TARGET_P95_MS and not errs else 'NO'} |"
        )
    every = [x for v in results.times.values() for x in v]
    n_errors = sum(len(v) for v in results.errors.values())
    lines.append(
        f"| **all** | {len(every)} | {n_errors} | {percentile(every, 50):.0f} | "
        f"{percentile(every, 95):.0f} | {percentile(every, 99):.0f} | "
        f"{max(every) if every else float('nan'):.0f} | |"
    )
    out = [
        f"Users: {args.users} signed in ({max(1, args.users // 10)} managers), think time "
        f"{args.think} s on average, {wall:.0f} s measured after {args.ramp:.0f} s of "
        f"signing in and {args.warmup:.0f} s of warm-up ({len(every)} requests, "
        f"{len(every) / wall:.1f} a second). {setup}",
        "",
        *lines,
        "",
        f"CPU time during the load: gunicorn {cpu.get('gunicorn', float('nan')):.0f} s, "
        f"PostgreSQL {cpu['postgres']:.0f} s (every database on the shared server), this "
        f"driver {cpu['driver']:.0f} s; wall {wall:.0f} s on {os.cpu_count()} cores "
        f"(so {(cpu.get('gunicorn', 0) + cpu['postgres']) / wall:.2f} cores busy serving).",
        f"Load average (1, 5, 15 min): before {', '.join(f'{x:.2f}' for x in load_before)}; "
        f"after {', '.join(f'{x:.2f}' for x in load_after)}.",
    ]
    if results.sign_in_failures:
        out += ["", "Sign-in failures:", *(f"- {f}" for f in results.sign_in_failures[:20])]
    if n_errors:
        out += ["", "Errors (first 5 of each page):"]
        for page, errs in results.errors.items():
            out += [f"- {page}: {e}" for e in errs[:5]]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="", help="A running server (http://127.0.0.1:PORT).")
    parser.add_argument("--serve", action="store_true", help="Start gunicorn for the run.")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--host", default="localhost", help="The Host header (ALLOWED_HOSTS).")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--think", type=float, default=5.0)
    parser.add_argument("--duration", type=float, default=300.0)
    parser.add_argument("--ramp", type=float, default=25.0, help="Seconds to start every user.")
    parser.add_argument(
        "--warmup", type=float, default=30.0,
        help="Seconds after the ramp before measuring (each worker's first pages).",
    )  # fmt: skip
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument(
        "--var-dir",
        default=str(ROOT / "var" / "bench-web"),
        help="CMETRACK_VAR_DIR of the server (static files, search indexes, logs).",
    )
    parser.add_argument(
        "--build-index", action="store_true",
        help="Build the find-a-child search index first (cmetrack build_search_index).",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--output", default="")
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    if not args.serve and not args.url:
        parser.error("give --url of a running server, or --serve")
    if args.serve:
        args.url = f"http://127.0.0.1:{args.port}"
    if urllib.parse.urlsplit(args.url).hostname != "127.0.0.1":
        parser.error("only a server on 127.0.0.1 is load-tested")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        parser.error("set DATABASE_URL to the PostgreSQL database the server uses")
    args.duration = min(args.duration, 1800.0)

    server = None
    if args.serve:
        server, _ = start_server(args)
    setup_django("cmetrack.config.settings.dev")
    from django.db import connection

    plans, deep_cursor = make_plans(args.users, args.seed)
    connection.close()
    setup = (
        "Server: gunicorn -c deploy/gunicorn.conf.py, production settings, DEBUG off."
        if args.serve
        else f"Server: {args.url}."
    )
    try:
        started = time.monotonic()
        results = Results(measure_from=started + args.ramp + args.warmup)
        stop_at = results.measure_from + args.duration
        threads = [
            threading.Thread(
                target=virtual_user,
                args=(plan, args, deep_cursor, results, stop_at, args.ramp * i / len(plans)),
                daemon=True,
            )
            for i, plan in enumerate(plans)
        ]
        for t in threads:
            t.start()
        # Everyone signed in and warmed up: measure from here.
        time.sleep(max(0.0, results.measure_from - time.monotonic()))
        load_before = os.getloadavg()
        cpu_before = {
            "postgres": postgres_cpu(),
            "driver": time.process_time(),
            **({"gunicorn": gunicorn_cpu(server.pid)} if server else {}),
        }
        for t in threads:
            t.join(timeout=max(0.0, stop_at - time.monotonic()) + 120)
        wall = time.monotonic() - results.measure_from
        load_after = os.getloadavg()
        cpu = {
            "postgres": postgres_cpu() - cpu_before["postgres"],
            "driver": time.process_time() - cpu_before["driver"],
            **({"gunicorn": gunicorn_cpu(server.pid) - cpu_before["gunicorn"]} if server else {}),
        }
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
    text = report(args, results, wall, cpu, load_before, load_after, setup)
    print(text)
    if args.output:
        path = Path(args.output)
        header = f"# {args.title or 'Web pages under load'}\n\n"
        path.write_text(header + text)
        print(f"written to {path}")
    sys.exit(1 if any(results.errors.values()) or results.sign_in_failures else 0)


if __name__ == "__main__":
    main()
