"""End-to-end tests in a real Chromium: sign-in, each role's home page, a child's record,
scoping, the static pages and the layout. Every page a test visits (except the Django admin
and the API docs) is checked with axe-core; the ``page`` fixture fails a test that loaded a
page without checking it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import TEST_PASSWORD, AgencyFactory, SchoolFactory
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.core.tests.axe import assert_accessible
from conftest import close_settled

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

#: Page titles are "<page> DASH <service> DASH <council>" (layout.jinja), with an en dash.
DASH = "\N{EN DASH}"

#: Pages not built from our templates; axe is not run on them.
AXE_EXEMPT_PATHS = ("/admin/", "/api/v1/docs")

#: The h2 headings of each role's home page, in order (core/presenters.py HomePresenter,
#: core/home.jinja). Every value of Role must be listed.
HOME_HEADINGS: dict[Role, list[str]] = {
    Role.SCHOOL_USER: ["Your referrals"],
    Role.AGENCY_USER: ["Your referrals"],
    Role.SLO: ["SLO investigations"],
    Role.CME_OFFICER: ["Your open cases"],
    Role.CME_MANAGER: ["Cases waiting to be assigned", "Your open cases"],
    Role.VIRTUAL_SCHOOL: ["Children in care missing education"],
    Role.SAFEGUARDING_ADVISER: ["Your open cases"],
    Role.ADMINISTRATOR: ["Administration"],
    Role.AUDITOR: ["Recent activity in the audit trail"],
    Role.ADMISSIONS: ["Children waiting too long for a place"],
}


# --- browser fixtures -------------------------------------------------------------------


@dataclass
class Visits:
    """Every document loaded in a page, and whether axe-core checked it."""

    loads: list[str] = field(default_factory=list)
    checked: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    def unchecked(self) -> list[str]:
        return [
            url
            for i, url in enumerate(self.loads)
            if i not in self.checked and not any(p in url for p in AXE_EXEMPT_PATHS)
        ]


_visits: dict[int, Visits] = {}


@pytest.fixture
def page(chromium: Any, live_server: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the live server.

    Fails the test if a page was loaded and not checked with :func:`check`, or if a
    script on a page raised an error."""
    context = chromium.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    pg = context.new_page()
    visits = _visits[id(pg)] = Visits()
    pg.on("load", lambda p: visits.loads.append(p.url))
    pg.on("pageerror", lambda exc: visits.errors.append(str(exc)))
    try:
        yield pg
        assert not visits.errors, f"JavaScript errors on the pages: {visits.errors}"
        unchecked = visits.unchecked()
        assert not unchecked, f"Pages loaded but not checked with axe-core: {unchecked}"
    finally:
        _visits.pop(id(pg), None)
        close_settled(context)


def check(page: Any) -> None:
    """axe-core on the current page (zero violations), and record the page as checked."""
    assert_accessible(page)
    visits = _visits[id(page)]
    assert visits.loads, "check() called before any page loaded"
    visits.checked.add(len(visits.loads) - 1)


# --- helpers ----------------------------------------------------------------------------


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def path_is(path: str) -> re.Pattern[str]:
    """A URL pattern: this path on the live server, with any query string."""
    return re.compile(rf"^https?://[^/]+{re.escape(path)}(\?.*)?$")


def fill_sign_in(page: Any, email: str, password: str) -> None:
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in(page: Any, user: Any) -> None:
    """Ask for the home page, get sent to sign in, sign in and land on "Your work"."""
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in/\?next=/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    check(page)
    fill_sign_in(page, user.email, TEST_PASSWORD)
    expect(page).to_have_url(path_is("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your work today")
    check(page)


#: Each visible text node whose element's computed font-family lacks Arial.
_TEXT_NOT_IN_ARIAL_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement, text = n.textContent.trim();
    if (!text || !el || !el.checkVisibility()) continue;
    const font = getComputedStyle(el).fontFamily;
    if (!/arial/i.test(font) || /transport/i.test(font))
      out.push(`${el.tagName.toLowerCase()}.${el.className}: "${text.slice(0, 40)}" in ${font}`);
  }
  return out;
}"""


def visible_text_not_in_arial(page: Any) -> list[str]:
    return list(page.evaluate(_TEXT_NOT_IN_ARIAL_JS))


def main_h2s(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("main h2").all_inner_texts()]


def user_for(role: Role, make_user: Any) -> Any:
    """A user holding ``role``, in the kind of organisation that role works in."""
    if role == Role.SCHOOL_USER:
        return make_user(role, organisation=SchoolFactory())
    if role == Role.AGENCY_USER:
        return make_user(role, organisation=AgencyFactory())
    if role == Role.ADMINISTRATOR:
        return make_user(role, is_staff=True)
    return make_user(role)


@dataclass(frozen=True)
class CaseData:
    child: Any
    case: Any
    restricted_line: str
    open_address: str


def child_with_case(*, officer: Any = None) -> CaseData:
    """A child with a past (open) address, a current restricted one and an open case."""
    from cmetrack.cases.models import ReferralRoute
    from cmetrack.cases.services import case_assign, case_open
    from cmetrack.people.services import child_add_address, child_create

    actor = Actor.system("test")
    today = timezone.localdate()
    child = child_create(
        actor=actor,
        legal_given_names="Amira",
        legal_middle_names="Jane",
        legal_family_name="Okonkwo-Test",
        dob=dt.date(2014, 5, 2),
        sex="F",
    )
    child_add_address(
        actor=actor,
        child=child,
        line1="1 Old Road",
        town="Exampleton",
        postcode="EX1 1AA",
        date_from=dt.date(2020, 1, 1),
        date_to=today - dt.timedelta(days=60),
    )
    child_add_address(
        actor=actor,
        child=child,
        line1="7 Hidden Close",
        town="Safeton",
        postcode="SF9 9ZZ",
        date_from=today - dt.timedelta(days=59),
        is_restricted=True,
    )
    case = case_open(
        actor=actor,
        child=child,
        route=ReferralRoute.AGENCY,
        date_referred=today - dt.timedelta(days=10),
    )
    if officer is not None:
        case = case_assign(actor=actor, case=case, officer=officer)
    return CaseData(
        child=child,
        case=case,
        restricted_line="7 Hidden Close",
        open_address="1 Old Road, Exampleton, EX1 1AA",
    )


# --- tests ------------------------------------------------------------------------------


def test_sign_in_page_errors_and_success(page: Any, make_user: Any) -> None:
    user = make_user(Role.CME_OFFICER)

    page.goto("/sign-in/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page).to_have_title(re.compile(rf"^Sign in {DASH} "))
    check(page)

    # Nothing entered: an error summary whose links move focus to the fields.
    page.get_by_role("button", name="Sign in").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(page).to_have_title(re.compile(rf"^Error: Sign in {DASH} "))
    expect(summary.get_by_role("link")).to_have_text(
        ["Enter your email address", "Enter your password"]
    )
    expect(page.locator("#id_username-error")).to_contain_text("Enter your email address")
    expect(page.locator("#id_password-error")).to_contain_text("Enter your password")
    check(page)
    summary.get_by_role("link", name="Enter your password").click()
    expect(page.locator("#id_password")).to_be_focused()
    summary.get_by_role("link", name="Enter your email address").click()
    expect(page.locator("#id_username")).to_be_focused()

    # Wrong password: one message, the email kept, still signed out.
    fill_sign_in(page, user.email, "not-the-password")
    expect(summary.get_by_role("link")).to_have_text(["Enter a correct email address and password"])
    expect(page.get_by_label("Email address")).to_have_value(user.email)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    check(page)

    # Correct password: the home page.
    fill_sign_in(page, user.email, TEST_PASSWORD)
    expect(page).to_have_url(path_is("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your work today")
    expect(page.locator(".govuk-error-summary")).to_have_count(0)
    check(page)


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_each_role_signs_in_sees_its_queue_and_signs_out(
    page: Any, make_user: Any, role: Role
) -> None:
    assert role in HOME_HEADINGS, f"add {role!r} to HOME_HEADINGS"
    user = user_for(role, make_user)

    sign_in(page, user)

    main = page.locator("main")
    assert main_h2s(page) == HOME_HEADINGS[role]
    expect(main).to_contain_text(f"Signed in as: {role.label}.")
    expect(page.locator("header")).to_contain_text(user.full_name)
    admin_link = page.get_by_role("navigation", name="Menu").get_by_role(
        "link", name="Administration"
    )
    expect(admin_link).to_have_count(1 if role == Role.ADMINISTRATOR else 0)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(path_is("/sign-in/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    check(page)

    # Really signed out: the home page asks to sign in again.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in/\?next=/$"))
    check(page)


def test_officer_opens_assigned_case_and_view_is_audited(page: Any, make_user: Any) -> None:
    officer = make_user(Role.CME_OFFICER)
    data = child_with_case(officer=officer)
    child, case = data.child, data.case
    views = AuditEvent.objects.filter(action=AuditAction.VIEW, child_id=child.pk)
    assert not views.exists()

    sign_in(page, officer)
    assert main_h2s(page) == ["Your open cases"]
    table = page.get_by_role("table", name="Your open cases")
    expect(table.get_by_role("row")).to_have_count(2)  # header and the one case
    row = table.get_by_role("row").nth(1)
    expect(row).to_contain_text(child.full_name)
    expect(row).to_contain_text("Received")
    # The home page's list is audited as a list (issue 17), not as opening the record.
    listed = views.filter(summary__startswith="Listed in")
    assert listed.exists(), "the home page's list of cases is not audited"
    assert not views.exclude(summary__startswith="Listed in").exists(), (
        "the home page list is not an opening of the child's record"
    )

    # The home page's row opens the case (the work); the case leads to the child's record.
    link = row.get_by_role("link", name=case.reference)
    expect(link).to_have_attribute("href", f"/cases/{case.pk}/")
    link.click()
    expect(page).to_have_url(path_is(f"/cases/{case.pk}/"))
    check(page)
    case_views = views.count()
    page.get_by_role("link", name=f"Open {child.full_name}'s record").click()
    expect(page).to_have_url(path_is(f"/children/{child.pk}/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(child.full_name)
    expect(page).to_have_title(re.compile(rf"^{re.escape(child.full_name)} {DASH} "))
    main = page.locator("main")
    addresses = main.locator(".govuk-summary-list").nth(1)
    expect(addresses.locator(".govuk-summary-list__value")).to_have_text(
        ["Restricted", data.open_address]
    )
    expect(page.locator("body")).not_to_contain_text(data.restricted_line)
    expect(page.locator("body")).not_to_contain_text("SF9 9ZZ")
    expect(main.get_by_role("table", name="Cases for this child")).to_contain_text(case.reference)
    check(page)

    assert views.count() == case_views + 1
    event = views.order_by("-id").first()
    assert event is not None
    assert event.actor_id == officer.pk
    assert event.object_type
    assert event.object_id == str(child.pk)
    assert event.ip_address == "127.0.0.1"

    page.get_by_role("link", name="Back to your work").click()
    expect(page).to_have_url(path_is("/"))
    check(page)


def test_school_user_guessing_a_child_url_gets_page_not_found(page: Any, make_user: Any) -> None:
    school = SchoolFactory()
    user = make_user(Role.SCHOOL_USER, organisation=school)
    data = child_with_case()

    sign_in(page, user)
    response = page.goto(f"/children/{data.child.pk}/")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page).to_have_title(re.compile(rf"^Page not found {DASH} "))
    expect(page.locator("body")).not_to_contain_text(data.child.legal_family_name)
    # Still signed in: it is the 404 page, not the sign-in page.
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    check(page)
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW, child_id=data.child.pk).exists()

    # A child who does not exist looks just the same.
    response = page.goto(f"/children/{data.child.pk + 1000}/")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    check(page)


@pytest.mark.parametrize(
    ("link", "path", "heading"),
    [
        ("Accessibility statement", "/accessibility/", "Accessibility statement"),
        ("Privacy notice", "/privacy/", "Privacy notice"),
    ],
)
def test_footer_links_reach_statement_pages(
    page: Any, make_user: Any, link: str, path: str, heading: str
) -> None:
    # Signed out, from the sign-in page.
    page.goto("/sign-in/")
    check(page)
    page.get_by_role("contentinfo").get_by_role("link", name=link).click()
    expect(page).to_have_url(path_is(path))
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.locator("main")).to_contain_text(settings.CMETRACK_LA_NAME)
    check(page)

    # Signed in, from the home page.
    sign_in(page, make_user(Role.CME_MANAGER))
    page.get_by_role("contentinfo").get_by_role("link", name=link).click()
    expect(page).to_have_url(path_is(path))
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    check(page)


@pytest.mark.parametrize("where", ["sign-in", "home", "privacy", "not-found"])
def test_layout_is_the_councils_not_govuk(page: Any, make_user: Any, where: str) -> None:
    if where == "sign-in":
        page.goto("/sign-in/")
    elif where == "home":
        sign_in(page, make_user(Role.CME_OFFICER))
    elif where == "privacy":
        page.goto("/privacy/")
    else:
        response = page.goto("/no-such-page/")
        assert response is not None
        assert response.status == 404
    check(page)

    council = settings.CMETRACK_LA_NAME
    header = page.get_by_role("banner")
    expect(header).to_contain_text(council)
    expect(header).to_contain_text(settings.CMETRACK_SERVICE_NAME)
    expect(page).to_have_title(re.compile(rf" {DASH} {re.escape(council)}$"))
    expect(page.get_by_role("contentinfo")).to_contain_text(council)

    # No GOV.UK branding: not in the text, the title, or any accessible label or image.
    assert "GOV.UK" not in page.locator("body").inner_text()
    assert "GOV.UK" not in page.title()
    assert "GOV.UK" not in page.content()
    expect(page.locator("svg.govuk-header__logotype, .govuk-header__logo")).to_have_count(0)

    # Arial, not GOV.UK's restricted GDS Transport, for every piece of visible text.
    assert visible_text_not_in_arial(page) == []


def test_page_body_is_set_in_arial(page: Any) -> None:
    """The body itself is set in Arial, so text outside GOV.UK Frontend's classes is too."""
    page.goto("/sign-in/")
    check(page)
    font = page.locator("body").evaluate("e => getComputedStyle(e).fontFamily")
    assert "arial" in font.lower(), f"body font-family is {font!r}"
