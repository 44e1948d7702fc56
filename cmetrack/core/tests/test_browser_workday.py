"""A CME team's working day in a real Chromium, on a small demo authority (built through the
services with its past, demo/clock.py):

- each role's home page, checked with axe-core and photographed for the role's guide
  (``docs/guides/img/``; written there when ``CMETRACK_GUIDE_SCREENSHOTS`` is set, otherwise
  to a temporary folder, so a test run leaves the working tree alone);
- the case page and the case queue at 320 CSS pixels wide: nothing scrolls sideways (WCAG
  2.2, 1.4.10 reflow);
- a keyboard-only journey: sign in, open the queue, open a case and take its next step
  without the mouse.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case
from cmetrack.core.tests.axe import assert_accessible
from cmetrack.demo.services import DEMO_PASSWORD, build_demo_authority, demo_email
from conftest import close_settled

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

GUIDE_IMAGES = Path(__file__).resolve().parents[3] / "docs" / "guides" / "img"
#: The demo user of each guide, and the guide's picture of their home page.
GUIDE_USERS = {
    "manager": "cme-manager",
    "officer": "cme-officer",
    "slo": "slo",
    "virtual.school": "virtual-school",
    "safeguarding": "safeguarding-adviser",
    "admin": "administrator",
    "auditor": "auditor",
    "admissions": "admissions",
    "school": "school",
    "agency": "agency-and-public",
}
#: Widest a page may be at 320 CSS pixels (no sideways scrolling).
NARROW = 320


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


@pytest.fixture
def demo(transactional_db: None) -> None:
    build_demo_authority(seed=1, schools=6, pupils=400, cases=40)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    if os.environ.get("CMETRACK_GUIDE_SCREENSHOTS"):
        GUIDE_IMAGES.mkdir(parents=True, exist_ok=True)
        return GUIDE_IMAGES
    return tmp_path


@pytest.fixture
def context(chromium: Any, live_server: Any) -> Iterator[Any]:
    ctx = chromium.new_context(base_url=live_server.url, viewport={"width": 1000, "height": 760})
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        close_settled(ctx)


def sign_in(page: Any, local: str) -> None:
    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(demo_email(local))
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your work today")


def png_size(path: Path) -> tuple[int, int]:
    width, height = struct.unpack(">II", path.read_bytes()[16:24])
    return width, height


def page_width(page: Any) -> int:
    return int(page.evaluate("() => document.documentElement.scrollWidth"))


def test_each_roles_home_page_is_its_work_and_is_photographed_for_its_guide(
    demo: None, context: Any, shots: Path
) -> None:
    # One tab for every role, each signing out before the next signs in: closing a page
    # while its sign-out is still navigating, then opening another, can leave Chromium
    # unable to open the next page (microsoft/playwright#42068; it hung CI twice here).
    page = context.new_page()
    for local, guide in GUIDE_USERS.items():
        sign_in(page, local)
        assert_accessible(page)
        path = shots / f"home-{guide}.png"
        page.screenshot(path=str(path))
        assert png_size(path) == (1000, 760)
        assert path.stat().st_size < 400_000
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    # A manager's day starts with what is urgent: a summary of counts linking each section.
    sign_in(page, "manager")
    summary = page.get_by_role("list", name="Your work today, most urgent first")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("link").first).to_be_visible()
    page.close()


def test_the_case_page_and_the_queue_reflow_at_320_pixels(
    demo: None, context: Any, shots: Path
) -> None:
    page = context.new_page()
    sign_in(page, "officer")
    page.set_viewport_size({"width": NARROW, "height": 800})
    page.goto("/cases/?queue=open")
    expect(page.get_by_role("heading", level=1)).to_have_text("Cases")
    assert page_width(page) <= NARROW, f"the queue is {page_width(page)} px wide"
    assert_accessible(page)
    page.screenshot(path=str(shots / "queue-320.png"))
    case = Case.objects.filter(state=CaseState.TRACKING).order_by("pk").first()
    assert case is not None
    page.goto(f"/cases/{case.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text(case.child.full_name)
    assert page_width(page) <= NARROW, f"the case page is {page_width(page)} px wide"
    assert_accessible(page)
    page.screenshot(path=str(shots / "case-320.png"))
    page.set_viewport_size({"width": 1000, "height": 760})
    page.screenshot(path=str(shots / "case.png"))


def tab_to(page: Any, text: str, limit: int = 120, tag: str = "") -> None:
    """Press Tab until the focused element's text (or label) starts with ``text`` (and, if
    given, it is a ``tag`` element: "A" for a link)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused_tag, focused = page.evaluate(
            "() => { const e = document.activeElement; return [e.tagName, (e.innerText || "
            "e.value || e.getAttribute('aria-label') || (e.labels && e.labels[0] && "
            "e.labels[0].innerText) || '').trim()]; }"
        )
        if focused.startswith(text) and (not tag or focused_tag == tag):
            return
    raise AssertionError(f"Tab never reached {text!r}")


def navigate(page: Any, key: str) -> None:
    """Press ``key`` and wait for the page it opens."""
    with page.expect_navigation():
        page.keyboard.press(key)


def test_a_keyboard_only_journey(demo: None, context: Any) -> None:
    """Sign in, find a case in the queue, open it and take its next step without a mouse."""
    case = Case.objects.filter(state=CaseState.RECEIVED).order_by("pk").first()
    assert case is not None
    page = context.new_page()
    page.goto("/sign-in/")
    tab_to(page, "Skip to main content")
    page.keyboard.press("Enter")
    tab_to(page, "Email address")
    page.keyboard.type(demo_email("manager"))
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PASSWORD)
    navigate(page, "Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your work today")
    assert_accessible(page)
    tab_to(page, "Cases")
    navigate(page, "Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Cases")
    tab_to(page, "Name, UPN or case reference")
    page.keyboard.type(case.reference)
    navigate(page, "Enter")
    tab_to(page, case.reference, tag="A")
    navigate(page, "Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(case.child.full_name)
    assert_accessible(page)
    # The page leads with the next step; the focus shows where the keyboard is.
    first = "Send to the School Liaison Officer" if case.route == "school" else "Start tracking"
    tab_to(page, first)
    outline = page.evaluate("() => getComputedStyle(document.activeElement).boxShadow")
    assert outline not in ("", "none"), "the focused button has no visible focus style"
    navigate(page, "Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(first)
    assert_accessible(page)
    tab_to(page, "Reason", limit=40)
    page.keyboard.type("Checked by keyboard only.")
    tab_to(page, "Save", limit=40)
    navigate(page, "Enter")
    expect(page.get_by_role("alert")).to_be_visible()
    case.refresh_from_db()
    assert case.state != CaseState.RECEIVED
