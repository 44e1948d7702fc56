"""The front door's two steps through Django's test client: the form ("Continue") and
"Check your answers" ("Send"), the only page a referral is sent from."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

#: A form's one-time submission token (idempotency.tokens) as the page writes it.
_TOKEN = re.compile(r'name="submission_token" value="([^"]+)"')


def token_on(client: Client, path: str) -> str:
    """The one-time submission token of the form on ``path``."""
    match = _TOKEN.search(client.get(path).content.decode())
    assert match, f"no submission token on {path}"
    return match.group(1)


def check_path(form_path: str) -> str:
    """The "Check your answers" page that follows a referral form."""
    return f"{form_path}check/"


def send(client: Client, form_path: str, data: dict[str, Any], **extra: Any) -> Any:
    """Fill in the form, continue to "Check your answers" and send from there; the
    response to the sending (a redirect to the acknowledgement when it was sent)."""
    answered = client.post(form_path, data)
    assert answered.status_code == 302, answered.content.decode()[:2000]
    assert answered["Location"] == check_path(form_path)
    token = token_on(client, check_path(form_path))
    return client.post(check_path(form_path), {"submission_token": token}, **extra)
