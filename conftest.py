"""Shared pytest fixtures: users for each role, and the browser for browser tests."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cmetrack.accounts.roles import Role

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_path() -> str | None:
    for path in (os.environ.get("CMETRACK_CHROMIUM"), *CHROMIUM_CANDIDATES):
        if path and os.path.exists(path):
            return path
    return shutil.which("chromium")


def weasyprint_loads() -> bool:
    try:
        import weasyprint  # type: ignore[import-untyped]  # noqa: F401
    except (ImportError, OSError):
        return False
    return True


#: Tests that need something beyond Python: marker → (is it here?, what to install).
SYSTEM_NEEDS: dict[str, tuple[Callable[[], bool], str]] = {
    "browser": (lambda: chromium_path() is not None, "Debian's chromium"),
    "pdf": (weasyprint_loads, "Pango, for WeasyPrint (libpango-1.0-0)"),
    "spark": (
        lambda: bool(shutil.which("java")) and importlib.util.find_spec("pyspark") is not None,
        "Java 17 and the spark extra (requirements/spark.txt), for Spark",
    ),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser, PDF and Spark tests need system packages. On a machine with only Python
    they are skipped with the reason; in CI (where .ci/run installs them) a missing one
    is a failure, never a silent skip.

    A browser test is run once more only if the watchdog stopped a hung Chromium
    (``BrowserHung``): the report shows it as rerun, and any other failure fails at once."""
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.flaky(reruns=1, only_rerun=["BrowserHung"]))
    for marker, (available, what) in SYSTEM_NEEDS.items():
        if not any(marker in item.keywords for item in items) or available():
            continue
        if os.environ.get("CI"):
            raise pytest.UsageError(
                f"Tests marked {marker!r} must run in CI but {what} is missing (.ci/run "
                "installs it)."
            )
        skip = pytest.mark.skip(reason=f"needs {what}, which is not installed here")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Each test starts with empty caches: rate limits and throttles never leak between tests."""
    from django.core.cache import caches

    for each in caches.all():
        each.clear()
    yield
    for each in caches.all():
        each.clear()


@pytest.fixture(autouse=True)
def _fresh_matching_indexes() -> Iterator[None]:
    """The matching engine keeps each register's index in memory, keyed by a signature of
    counts and maximum ids; test databases reuse ids, so no index outlives its test."""
    from cmetrack.matching.services import clear_indexes

    clear_indexes()
    yield
    clear_indexes()


@pytest.fixture
def today() -> dt.date:
    """Today's date, worked out when the test runs: a module-level date would be the day pytest
    collected it, and a run that crosses midnight would test yesterday."""
    from django.utils import timezone

    return timezone.localdate()


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    from cmetrack.accounts.tests.factories import UserFactory

    def make(*roles: Role, **kwargs: Any) -> Any:
        return UserFactory(roles=roles, **kwargs)

    return make


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


#: A browser test's setup, steps or teardown running longer than this have hung inside
#: Chromium: the watchdog stops the browser, the waiting Playwright call fails, and the test
#: is run once more with a new browser (``pytest_runtest_call`` below).
BROWSER_TEST_SECONDS = float(os.environ.get("CMETRACK_BROWSER_TEST_SECONDS", "300"))


class BrowserHung(AssertionError):
    """The watchdog stopped a browser test whose Playwright call never answered."""


def _chromium_descendants() -> list[int]:
    """The chromium processes started under this test process (Playwright's driver's)."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as stat:
                fields = stat.read()
        except OSError:
            continue
        name = fields[fields.index("(") + 1 : fields.rindex(")")]
        parents[int(entry)] = int(fields[fields.rindex(")") + 2 :].split()[1])
        names[int(entry)] = name
    mine = {os.getpid()}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                changed = True
    return [pid for pid in mine if names.get(pid, "").startswith("chrom")]


def _stop_chromium() -> None:
    for pid in _chromium_descendants():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _watched(item: pytest.Item) -> Iterator[None]:
    """Run one phase of a browser test (setup, call or teardown) under the watchdog."""
    marker = item.get_closest_marker("browser")
    if marker is None:
        return (yield)
    limit = float(marker.kwargs.get("seconds", BROWSER_TEST_SECONDS))
    fired = threading.Event()

    def stop() -> None:
        fired.set()
        _stop_chromium()

    timer = threading.Timer(limit, stop)
    timer.daemon = True
    timer.start()
    try:
        return (yield)
    except BaseException as exc:
        if fired.is_set():
            raise BrowserHung(
                f"{item.nodeid} waited over {limit:.0f} s on Chromium, which was stopped"
            ) from exc
        raise
    finally:
        timer.cancel()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    return (yield from _watched(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    return (yield from _watched(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    return (yield from _watched(item))


class Chromium:
    """The module's headless chromium, started again if the watchdog had to stop it."""

    def __init__(self, playwright: Any) -> None:
        self._playwright = playwright
        self.browser = self._launch()

    def _launch(self) -> Any:
        return self._playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)

    def new_context(self, **options: Any) -> Any:
        if not self.browser.is_connected():
            self.browser = self._launch()
        return self.browser.new_context(**options)

    def close(self) -> None:
        if self.browser.is_connected():
            self.browser.close()


def close_settled(context: Any) -> None:
    """Close a browser context once each of its pages has finished loading.

    Closing a page while a navigation is still committing (a test's last step a click that
    submits a form) can leave Chromium unable to open or close the next page
    (microsoft/playwright#42068); waiting for the load first keeps teardown out of that race.
    A page that never loads is left to the watchdog."""
    for page in context.pages:
        with contextlib.suppress(Exception):
            page.wait_for_load_state("load", timeout=10_000)
    context.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    """One headless Debian chromium for each test module; each test gets its own context.

    Not one for the whole run: a browser that has served hundreds of contexts carries their
    state (renderer processes, caches) into the next module, and the whole PostgreSQL suite
    once hung inside Playwright in the module after the longest journey. Starting a browser
    takes about a second."""
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs a loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = Chromium(p)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium: Any, live_server: Any) -> Iterator[Any]:
    """A Playwright page in a fresh context (no cookies), pointed at the live server."""
    context = chromium.new_context(base_url=live_server.url)
    try:
        yield context.new_page()
    finally:
        close_settled(context)
