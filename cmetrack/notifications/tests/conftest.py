from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from cmetrack.notifications.kinds import KINDS

from . import notify_stub

#: A template id per kind, as the authority would copy them from Notify.
TEMPLATES = {key: f"00000000-0000-0000-0000-{n:012d}" for n, key in enumerate(sorted(KINDS))}


@pytest.fixture
def notify(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[notify_stub.StubNotify]:
    """cmetrack set to deliver through a stand-in Notify served on loopback."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    stub = notify_stub.start()
    settings.CMETRACK_NOTIFY_BACKEND = "notify"
    settings.CMETRACK_NOTIFY_API_KEY = notify_stub.API_KEY
    settings.CMETRACK_NOTIFY_BASE_URL = stub.url
    settings.CMETRACK_NOTIFY_TEMPLATES = TEMPLATES
    settings.CMETRACK_NOTIFY_SECURE_DOMAINS = ["exampleshire.gov.uk"]
    settings.CMETRACK_NOTIFY_CALLBACK_TOKEN = "receipts-token-0123456789"
    settings.CMETRACK_NOTIFY_ENQUEUE = True
    try:
        yield stub
    finally:
        notify_stub.stop(stub)
