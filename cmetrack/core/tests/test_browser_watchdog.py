"""The browser tests' watchdog (conftest.py): a Playwright call that Chromium never answers
does not hang the suite. After the time allowed the browser is stopped, the waiting call
fails, and the module's browser starts again for what comes next."""

from __future__ import annotations

import time
from typing import Any

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.browser(seconds=5)
def test_a_call_chromium_never_answers_is_stopped_and_the_browser_starts_again(
    chromium: Any,
) -> None:
    from playwright.sync_api import Error

    context = chromium.new_context()
    page = context.new_page()
    page.set_content("<p>Waiting</p>")
    started = time.monotonic()
    with pytest.raises(Error):
        page.evaluate("() => new Promise(() => {})")  # never resolves
    assert 4 < time.monotonic() - started < 60
    assert not chromium.browser.is_connected()

    again = chromium.new_context()
    page = again.new_page()
    page.set_content("<h1>Back</h1>")
    assert page.locator("h1").inner_text() == "Back"
    again.close()
