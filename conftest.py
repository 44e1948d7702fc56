"""Shared pytest fixtures: users for each role, and the browser for browser tests."""

from __future__ import annotations

import importlib.util
import os
import shutil
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
    is a failure, never a silent skip."""
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
    """Each test starts with an empty cache: rate limits and throttles never leak between tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_matching_indexes() -> Iterator[None]:
    """The matching engine keeps each register's index in memory, keyed by a signature of
    counts and maximum ids; test databases reuse ids, so no index outlives its test."""
    from cmetrack.matching.services import clear_indexes

    clear_indexes()
    yield
    clear_indexes()


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


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Debian chromium for the whole run; each test gets its own context."""
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs a loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
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
        context.close()
