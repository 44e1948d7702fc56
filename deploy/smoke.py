"""Production smoke run: every page of the access matrix, as every role, over HTTP.

.ci/run starts gunicorn with the production settings on a fresh PostgreSQL database holding
a small demo authority, then runs this script. It signs in as each role's demo account
through the real sign-in form (and two-factor set-up: it reads the key from the set-up
page and types a code, as a person with an authenticator app would), walks the pages
that role may use, and fails on any 5xx, naming the page and the role.

Which pages: every named URL in the access matrix's ``REGISTRY``
(cmetrack/core/tests/test_access_matrix.py) that answers GET and that the role may use.
First it follows the links on the pages it sees, from the home page, one page of each URL
name (so ids are the role's own records); the rest are built with ``reverse()`` and real
ids from the database (the role's visible children, cases and referrals; the first record
otherwise). Anonymous people get the public pages. Then every static file any page
referred to (and what the CSS and JavaScript refer to) must load with 200.

All requests go over HTTP to the server with the standard library (urllib, a cookie jar):
no page is rendered in-process. Django is set up only to read the URL list, resolve paths
to URL names, find ids, read the key of an authenticator app an earlier run set up and,
with ``--seed``, make the records the demo authority has none of.

Run it in the server's environment (the same DJANGO_SETTINGS_MODULE, DATABASE_URL,
SECRET_KEY, ALLOWED_HOSTS), with the development dependencies installed
(``python3 dev.py setup``: the URL list lives in the tests):

    .venv/bin/python deploy/smoke.py --base-url http://127.0.0.1:8000 --host localhost

The production settings want HTTPS: the script says ``X-Forwarded-Proto: https`` as the
reverse proxy would. Exit status 0 when every page answered below 500, 1 otherwise.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.cookiejar
import os
import re
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, TypeVar

PASSWORD_ENV = "CMETRACK_SMOKE_PASSWORD"  # noqa: S105  (the name of a variable)
MAX_REDIRECTS = 6
T = TypeVar("T")


# --- HTTP -------------------------------------------------------------------------------


class BehindTlsProxyPolicy(http.cookiejar.DefaultCookiePolicy):
    """Send ``Secure`` cookies on our plain-HTTP hop to gunicorn: the server believes the
    request came over HTTPS (``X-Forwarded-Proto``), as it does behind the real proxy."""

    def return_ok_secure(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return True

    def set_ok_domain(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return True


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # redirects are followed by Browser.open, which checks where they go


@dataclass
class Response:
    path: str
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def is_html(self) -> bool:
        return self.headers.get("content-type", "").startswith("text/html")


class Browser:
    """One person's browser: a cookie jar, the proxy's headers, redirects followed by hand."""

    def __init__(self, base_url: str, host: str, who: str) -> None:
        if urllib.parse.urlsplit(base_url).scheme not in {"http", "https"}:
            raise ValueError(f"--base-url must be an http or https address, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.host = host
        self.who = who
        self.jar = http.cookiejar.CookieJar(BehindTlsProxyPolicy())
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )
        self.count = 0

    def _request(
        self,
        method: str,
        path: str,
        data: dict[str, str] | None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        self.count += 1
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        url = self.base_url + path  # http(s) only: checked in __init__
        request = urllib.request.Request(url, data=body, method=method)  # noqa: S310
        request.add_header("Host", self.host)
        request.add_header("X-Forwarded-Proto", "https")
        request.add_header("X-Request-ID", f"smoke-{self.who}-{self.count}")
        request.add_header("User-Agent", "cmetrack-smoke")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        if method == "POST":
            # Django checks the Origin of a form sent over HTTPS.
            request.add_header("Origin", f"https://{self.host}")
            request.add_header("Referer", f"https://{self.host}{path}")
        started = time.monotonic()
        try:
            with self.opener.open(request, timeout=120) as raw:
                status, headers, content = raw.status, dict(raw.headers), raw.read()
        except urllib.error.HTTPError as exc:
            status, headers, content = exc.code, dict(exc.headers), exc.read()
        headers = {k.lower(): v for k, v in headers.items()}
        return Response(path, status, headers, content, time.monotonic() - started)

    def open(
        self, path: str, data: dict[str, str] | None = None, follow: bool = True
    ) -> list[Response]:
        """GET (or POST with ``data``) and follow redirects on this site: every response."""
        responses = [self._request("POST" if data is not None else "GET", path, data)]
        while follow and responses[-1].status in {301, 302, 303, 307, 308}:
            location = responses[-1].headers.get("location", "")
            target = urllib.parse.urlsplit(location)
            if target.netloc and target.netloc != self.host:
                break  # not ours
            if len(responses) > MAX_REDIRECTS:
                break
            path = urllib.parse.urlunsplit(("", "", target.path or "/", target.query, ""))
            responses.append(self._request("GET", path, None))
        return responses


class Links(HTMLParser):
    """The links (``a``, ``link``), scripts, images and forms' hidden fields of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.assets: list[str] = []
        self.hidden: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        elif tag == "link" and a.get("href"):
            self.assets.append(a["href"])
        elif tag in {"script", "img"} and a.get("src"):
            self.assets.append(a["src"])
        elif tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.hidden.setdefault(a["name"], a.get("value", ""))


def parse(html: str) -> Links:
    links = Links()
    links.feed(html)
    return links


def totp(key_base32: str, at: float | None = None) -> str:
    """RFC 6238 code (SHA-1, 6 digits, 30 s), as an authenticator app makes it."""
    key = key_base32.replace(" ", "").upper()
    key += "=" * (-len(key) % 8)
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(base64.b32decode(key), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{number % 1_000_000:06d}"


# --- what to walk (read with Django, never requested through it) -------------------------


@dataclass
class Plan:
    role: str
    email: str | None  # None: anonymous
    allowed: set[str]  # URL names this role may GET
    built: dict[str, str] = field(default_factory=dict)  # name -> URL with ids from the DB
    no_data: set[str] = field(default_factory=set)  # names built with a made-up id
    #: The key of an authenticator app the account already has (an earlier run set it up).
    totp_key: str | None = None


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmetrack.config.settings.production")
    import django

    django.setup()


#: Which record a URL parameter names: (model, attribute giving the value). Names with
#: several meanings depend on the URL name (first matching fragment wins).
ID_SOURCES: dict[str, list[tuple[str, str, str]]] = {
    "alert_id": [("", "detection.Alert", "pk")],
    "application_id": [("", "provision.AdmissionApplication", "pk")],
    "assessment_id": [("", "safeguarding.RiskAssessment", "pk")],
    "enquiry_id": [
        ("incoming", "enquiries.IncomingEnquiry", "pk"),
        ("", "enquiries.OutgoingEnquiry", "pk"),
    ],
    "entry_id": [("", "registers.RollEntry", "pk")],
    "file_id": [("", "transfers.CtfFile", "pk")],
    "lost_id": [("", "transfers.LostPupil", "pk")],
    "notice_id": [("", "enquiries.MoveNotification", "pk")],
    "pep_id": [("", "virtualschool.PersonalEducationPlan", "pk")],
    "pk": [
        ("incoming", "enquiries.IncomingEnquiry", "pk"),
        ("", "enquiries.OutgoingEnquiry", "pk"),
    ],
    "placement_id": [("", "virtualschool.Placement", "pk")],
    "provider_id": [("", "provision.ProviderProfile", "organisation_id")],
    "record_id": [
        ("registers", "registers.HomeEducationRecord", "pk"),
        ("home_education", "registers.HomeEducationRecord", "pk"),
        ("", "virtualschool.ChildInCare", "pk"),
    ],
    "referral_id": [("", "provision.PanelReferral", "pk")],
    "report_id": [("", "reports.TermlyReport", "pk")],
    "request_id": [
        ("consent", "registers.HomeEducationConsentRequest", "pk"),
        ("", "transfers.SearchRequest", "pk"),
    ],
    "run_id": [("", "detection.ImportRun", "pk")],
}


def seed_missing() -> list[str]:
    """Make the records the demo authority has none of, so that their pages are walked with
    real ids: a termly report, a move notice, an incoming enquiry, an admission application,
    a panel referral and detection's alerts. Through the services, as the demo CME manager
    would make them. Best effort: what cannot be made is reported, and its pages are walked
    with a made-up id (a 404)."""
    import datetime as dt

    from django.conf import settings
    from django.utils import timezone

    from cmetrack.accounts.models import User
    from cmetrack.audit.services import Actor
    from cmetrack.cases.lifecycle import CaseState
    from cmetrack.cases.models import Case
    from cmetrack.demo.services import demo_email
    from cmetrack.detection.services import DetectionConfig, detection_run
    from cmetrack.enquiries.services import incoming_enquiry_log, move_notification_send
    from cmetrack.organisations.models import LocalAuthority
    from cmetrack.provision.selectors import providers
    from cmetrack.provision.services import admission_application_record, panel_referral_record
    from cmetrack.reports.periods import Season
    from cmetrack.reports.services import termly_report_issue

    actor = Actor(user=User.objects.get(email=demo_email("manager")), label="smoke run")
    today = timezone.localdate()
    done: list[str] = []

    def need(value: T | None, what: str) -> T:
        if value is None:
            raise LookupError(f"the demo has no {what}")
        return value

    def attempt(what: str, make: Any) -> None:
        try:
            make()
        except Exception as exc:  # reported; its pages get a made-up id
            done.append(f"{what}: not made ({type(exc).__name__}: {exc})")
        else:
            done.append(f"{what}: made")

    def termly_report() -> None:
        problems = []
        for year in (today.year, today.year - 1):
            for season in Season:
                try:
                    termly_report_issue(actor=actor, season=season, year=year)
                    return
                except Exception as exc:  # a term not over yet: try the next
                    problems.append(str(exc))
        raise RuntimeError("; ".join(problems[-1:]))

    open_cases = Case.objects.exclude(state=CaseState.CLOSED).order_by("pk")
    providing = open_cases.filter(
        state__in=[CaseState.NEEDS_ASSESSMENT, CaseState.AWAITING_PROVISION]
    )
    others = LocalAuthority.objects.exclude(code=settings.CMETRACK_LA_CODE).order_by("code")
    other_la = others.exclude(cme_contact_email="").first()
    attempt("termly report", termly_report)
    attempt(
        "move notice",
        lambda: move_notification_send(
            actor=actor,
            case=need(open_cases.first(), "open case"),
            local_authority=need(other_la, "authority with a CME contact"),
            sent_on=today,
        ),
    )
    attempt(
        "incoming enquiry",
        lambda: incoming_enquiry_log(
            actor=actor,
            from_la=need(others.last(), "other authority"),
            received_on=today,
            given_names="Smoke",
            family_name="Walker",
            reason_linked="A smoke test of the production server.",
            dob=dt.date(today.year - 10, 1, 1),
        ),
    )
    attempt(
        "admission application",
        lambda: admission_application_record(
            actor=actor,
            case=need(providing.first(), "case awaiting provision"),
            school=providers().first(),
            applied_on=today,
        ),
    )
    attempt(
        "panel referral",
        lambda: panel_referral_record(
            actor=actor,
            case=need(providing.first(), "case awaiting provision"),
            referred_on=today,
            reason="Smoke test.",
        ),
    )
    attempt("alerts", lambda: detection_run(actor=actor, config=DetectionConfig(as_of=today)))
    return done


def build_plans() -> list[Plan]:
    from django.apps import apps
    from django.urls import NoReverseMatch, reverse
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from cmetrack.accounts.models import User
    from cmetrack.accounts.roles import Role
    from cmetrack.cases.selectors import cases_visible_to
    from cmetrack.core.tests.test_access_matrix import (
        FIXED_PARAMS,
        REGISTRY,
        guessed,
        route_params,
        url_routes,
    )
    from cmetrack.demo.services import DEMO_USERS, demo_email
    from cmetrack.organisations.models import LocalAuthority
    from cmetrack.people.selectors import children_visible_to
    from cmetrack.referrals.selectors import referrals_visible_to
    from cmetrack.reports.checklist import POINTS
    from cmetrack.reports.selectors import PACE_MEASURES

    routes = url_routes()
    la = LocalAuthority.objects.order_by("code").first()
    extra_fixed = {
        "measure": next(iter(PACE_MEASURES)),
        "point": str(POINTS[0].number),
        "code": la.code if la else "999",
    }

    def scoped(user: User | None) -> dict[str, Any]:
        if user is None:
            return {}
        return {
            "case_id": cases_visible_to(user).order_by("pk").values_list("pk", flat=True).first(),
            "child_id": children_visible_to(user)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first(),
            "reference": referrals_visible_to(user)
            .order_by("pk")
            .values_list("reference", flat=True)
            .first(),
        }

    def record_for(name: str, param: str) -> Any:
        for fragment, label, attr in ID_SOURCES.get(param, []):
            if fragment in name:
                return apps.get_model(label).objects.order_by("pk").first(), attr
        return None, None

    def build(name: str, mine: dict[str, Any]) -> tuple[str | None, bool]:
        entry = REGISTRY[name]
        fixed = {**FIXED_PARAMS, **extra_fixed, **dict(entry.fixed)}
        kwargs: dict[str, Any] = {}
        made_up = False
        params = route_params(routes[name])
        # The main record first: its case, child or record fill those parameters.
        for conv, p in params:
            if p in fixed:
                kwargs[p] = fixed[p]
            elif p in ID_SOURCES:
                obj, attr = record_for(name, p)
                if obj is None:
                    kwargs[p], made_up = guessed(conv, p), True
                    continue
                kwargs[p] = getattr(obj, attr)
                for related in ("case_id", "child_id", "record_id"):
                    if any(q == related for _, q in params) and hasattr(obj, related):
                        kwargs.setdefault(related, getattr(obj, related))
        for conv, p in params:
            if p in kwargs:
                continue
            value = mine.get(p)
            if value is None and p in {"case_id", "child_id", "reference"}:
                model = {"case_id": "cases.Case", "child_id": "people.Child"}.get(
                    p, "referrals.Referral"
                )
                attr = "reference" if p == "reference" else "pk"
                first = apps.get_model(model).objects.order_by("pk").first()
                value = getattr(first, attr) if first is not None else None
            if value is None:
                value, made_up = guessed(conv, p), True
            kwargs[p] = value
        try:
            return reverse(name, kwargs=kwargs or None), made_up
        except NoReverseMatch:
            return None, True

    plans: list[Plan] = []
    anonymous = {n for n, e in REGISTRY.items() if e.public and "GET" in e.methods}
    plans.append(Plan("anonymous", None, anonymous))
    for role in Role:
        demo = next((u for u in DEMO_USERS if role in u.roles), None)
        if demo is None:
            print(f"!! no demo account has the role {role.value}", file=sys.stderr)
            continue
        email = demo_email(demo.email)
        allowed = {
            n
            for n, e in REGISTRY.items()
            if "GET" in e.methods
            and n != "logout"
            and n in routes
            and (e.public or e.roles is None or role in e.roles)
        }
        plans.append(Plan(role.value, email, allowed))
    for plan in plans:
        person = User.objects.get(email=plan.email) if plan.email else None
        device = (
            TOTPDevice.objects.filter(user=person, confirmed=True).order_by("-pk").first()
            if person is not None
            else None
        )
        if device is not None:
            plan.totp_key = base64.b32encode(device.bin_key).decode()
        mine = scoped(person)
        for name in sorted(plan.allowed):
            url, made_up = build(name, mine)
            if url is not None:
                plan.built[name] = url
            if made_up:
                plan.no_data.add(name)
    return plans


# --- walking ------------------------------------------------------------------------------


@dataclass
class Outcome:
    role: str
    statuses: Counter[int] = field(default_factory=Counter)
    pages: int = 0
    failures: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # 4xx answers, listed with --verbose
    assets: set[str] = field(default_factory=set)
    seconds: float = 0.0
    slowest: tuple[float, str] = (0.0, "")


def two_factor(
    browser: Browser, page: Response, known_key: str | None, outcome: Outcome
) -> list[Response]:
    """Type a code on the set-up page (its key is on the page) or the verify page (the
    account's key from the database). A code used once cannot be used again in the same
    30 seconds, so a refused code is tried again with the next one."""
    shown = re.search(r'<code class="app-secret">([A-Z2-7 ]+)</code>', page.text)
    key = shown.group(1) if shown else known_key
    if key is None:
        outcome.failures.append(f"{outcome.role}: two-factor page {page.path} and no key")
        return [page]
    path = urllib.parse.urlsplit(page.path).path
    after: list[Response] = [page]
    for attempt in range(2):
        if attempt:
            time.sleep(30.5 - time.time() % 30)  # the next code
        form = parse(after[-1].text).hidden
        data = {
            "csrfmiddlewaretoken": form.get("csrfmiddlewaretoken", ""),
            "next": form.get("next", "/"),
            "code": totp(key),
        }
        after = browser.open(path, data)
        if "/account/two-factor/" not in after[-1].path:
            break
    return after


def sign_in(
    browser: Browser, email: str, password: str, outcome: Outcome, known_key: str | None = None
) -> bool:
    page = browser.open("/sign-in/")[-1]
    token = parse(page.text).hidden.get("csrfmiddlewaretoken", "")
    if page.status != 200 or not token:
        outcome.failures.append(f"{outcome.role}: the sign-in page answered {page.status}")
        return False
    data = {"csrfmiddlewaretoken": token, "username": email, "password": password, "next": "/"}
    after = browser.open("/sign-in/", data)
    last = after[-1]
    if "/account/two-factor/" in last.path:
        # Two-factor: set up an authenticator app (the demo accounts have none), or type a
        # code from the one an earlier run set up.
        after = two_factor(browser, last, known_key, outcome)
        last = after[-1]
    for response in after:
        if response.status >= 500:
            outcome.failures.append(f"{outcome.role}: {response.status} at {response.path}")
    if last.status != 200 or urllib.parse.urlsplit(last.path).path != "/":
        outcome.failures.append(
            f"{outcome.role}: signing in ended at {last.path} ({last.status}), not the home page"
        )
        return False
    return True


def walk(plan: Plan, base_url: str, host: str, password: str) -> Outcome:
    from django.urls import Resolver404, resolve

    outcome = Outcome(plan.role)
    browser = Browser(base_url, host, plan.role)
    started = time.monotonic()
    if plan.email is not None and not sign_in(
        browser, plan.email, password, outcome, plan.totp_key
    ):
        return outcome
    seen: set[str] = set()

    def name_of(path: str) -> str | None:
        try:
            match = resolve(urllib.parse.urlsplit(path).path)
        except Resolver404:
            return None
        return match.view_name

    def visit(path: str) -> list[str]:
        """GET a page (following redirects); the links on it to follow."""
        responses = browser.open(path)
        outcome.pages += 1
        found: list[str] = []
        for hop, response in enumerate(responses):
            outcome.statuses[response.status] += 1
            if response.seconds > outcome.slowest[0]:
                outcome.slowest = (response.seconds, response.path)
            if response.status >= 500:
                outcome.failures.append(f"{plan.role}: {response.status} at {response.path}")
            elif response.status >= 400:
                outcome.refused.append(f"{response.status} {response.path}")
            sent_to = urllib.parse.urlsplit(response.path).path
            if plan.email is not None and hop > 0 and sent_to == "/sign-in/":
                outcome.failures.append(f"{plan.role}: sent to sign in on the way to {path}")
        last = responses[-1]
        if last.is_html:
            links = parse(last.text)
            outcome.assets.update(a for a in links.assets if a.startswith("/static/"))
            found = [h for h in links.hrefs if h.startswith("/") and not h.startswith("//")]
        return found

    # 1. Follow links from the home page (or the sign-in page): one page per URL name.
    queue = deque(["/" if plan.email else "/sign-in/"])
    while queue:
        path = queue.popleft()
        name = name_of(path)
        if name is None or name in seen or (name not in plan.allowed and path != "/"):
            continue
        seen.add(name)
        for href in visit(path):
            href = href.split("#", 1)[0]
            if not href.startswith(("/static/", "/admin/", "/sign-out/")):
                queue.append(href)
    # 2. The rest of the role's pages, with ids from the database.
    for name in sorted(plan.allowed - seen):
        if name in plan.built:
            seen.add(name)
            visit(plan.built[name])
    # 3. An address that does not exist: the 404 page.
    visit("/smoke-no-such-page/")
    if plan.role == "administrator":
        visit("/admin/")
    outcome.seconds = time.monotonic() - started
    return outcome


def check_assets(paths: set[str], base_url: str, host: str) -> tuple[int, list[str]]:
    """GET every static file; follow what CSS (url()) and JavaScript (import) refer to."""
    browser = Browser(base_url, host, "static")
    failures: list[str] = []
    queue, done = deque(sorted(paths)), set()
    while queue:
        path = queue.popleft()
        if path in done:
            continue
        done.add(path)
        response = browser.open(path, follow=False)[-1]
        if response.status != 200:
            failures.append(f"static: {response.status} at {path}")
            continue
        folder = path.rsplit("/", 1)[0] + "/"
        refs: list[str] = []
        if path.endswith(".css"):
            refs = re.findall(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", response.text)
        elif path.endswith(".js"):
            refs = re.findall(r"""(?:import|from)\s*['"](\.{1,2}/[^'"]+)['"]""", response.text)
        for ref in refs:
            if ref.startswith(("data:", "http:", "https:", "#")):
                continue
            target = urllib.parse.urljoin(folder, ref).split("#", 1)[0].split("?", 1)[0]
            queue.append(target)
    return len(done), failures


OUTAGE_HEADING = "Sorry, the service is unavailable"


def check_outage(base_url: str, host: str) -> int:
    """Against a server whose database cannot be reached: pages that need the database
    answer the service's own 503 page (the API a problem document) with Retry-After, and
    the sign-in page and static files still load."""
    browser = Browser(base_url, host, "outage")
    failures: list[str] = []
    sign_in_page = browser.open("/sign-in/", follow=False)[-1]
    if sign_in_page.status != 200:
        failures.append(f"the sign-in page answered {sign_in_page.status}")
    links = parse(sign_in_page.text)
    token = links.hidden.get("csrfmiddlewaretoken", "")
    # Someone signed in earlier: the session must be read from the database.
    cookie = {"Cookie": "sessionid=smoke0outage0session0key0abcdefgh"}
    form = {
        "csrfmiddlewaretoken": token,
        "username": "officer@demo.cmetrack.example",
        "password": "demo-password-2026",
    }
    probes = [
        ("sign in", browser._request("POST", "/sign-in/", form)),
        ("home page, signed in", browser._request("GET", "/", None, cookie)),
        ("case list, signed in", browser._request("GET", "/cases/", None, cookie)),
        ("API, signed in", browser._request("GET", "/api/v1/me", None, cookie)),
    ]
    for what, response in probes:
        where = f"{what} ({response.path})"
        if response.status != 503:
            failures.append(f"{where}: {response.status}, not 503")
            continue
        if response.headers.get("retry-after") is None:
            failures.append(f"{where}: no Retry-After")
        if response.path.startswith("/api/"):
            if response.headers.get("content-type") != "application/problem+json":
                failures.append(f"{where}: {response.headers.get('content-type')}")
        elif OUTAGE_HEADING not in response.text:
            failures.append(f"{where}: not the service-unavailable page")
    assets = [a for a in links.assets if a.startswith("/static/")]
    for path in assets:
        status = browser.open(path, follow=False)[-1].status
        if status != 200:
            failures.append(f"static {path}: {status}")
    print(
        f"database outage: {len(probes)} pages that need the database, "
        f"{len(assets)} static files; {len(failures)} failures"
    )
    for failure in failures:
        print(f"FAIL outage: {failure}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--host", default="localhost", help="the Host header (in ALLOWED_HOSTS)")
    parser.add_argument("--parallel", type=int, default=3, help="roles walked at once")
    parser.add_argument("--verbose", action="store_true", help="list each role's 4xx answers")
    parser.add_argument(
        "--seed",
        action="store_true",
        help="first make the records the demo has none of (writes to the database)",
    )
    parser.add_argument(
        "--database-down",
        action="store_true",
        help="the server's database cannot be reached: check the 503 pages instead",
    )
    args = parser.parse_args(argv)
    password = os.environ.get(PASSWORD_ENV, "demo-password-2026")
    if args.database_down:
        return check_outage(args.base_url, args.host)

    setup_django()
    started = time.monotonic()
    if args.seed:
        for line in seed_missing():
            print(f"seed: {line}")
    plans = build_plans()
    with ThreadPoolExecutor(max_workers=args.parallel) as pool:
        outcomes = list(pool.map(lambda p: walk(p, args.base_url, args.host, password), plans))
    assets = set().union(*(o.assets for o in outcomes))
    static_count, static_failures = check_assets(assets, args.base_url, args.host)

    failures = [f for o in outcomes for f in o.failures] + static_failures
    print(f"{'role':<22} {'pages':>5} {'made-up ids':>11}  statuses  (slowest)")
    for plan, o in zip(plans, outcomes, strict=True):
        statuses = " ".join(f"{s}x{n}" for s, n in sorted(o.statuses.items()))
        print(
            f"{o.role:<22} {o.pages:>5} {len(plan.no_data):>11}  {statuses}  "
            f"({o.slowest[0]:.2f} s {o.slowest[1]})"
        )
        if args.verbose:
            for line in o.refused:
                print(f"    {line}")
    total = sum(o.pages for o in outcomes)
    print(f"static files: {static_count} checked, {len(static_failures)} not loading")
    print(
        f"{total} pages as {len(outcomes)} roles in {time.monotonic() - started:.0f} s; "
        f"{len(failures)} failures"
    )
    for failure in failures:
        print(f"FAIL {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
