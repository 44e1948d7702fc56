"""The one-time form token, kept apart from the model so templates can use it at import."""

from __future__ import annotations

import secrets

from markupsafe import Markup

#: The hidden field every protected page form carries.
FIELD_NAME = "submission_token"


def new_token() -> str:
    """A fresh one-time token for a form (192 random bits)."""
    return secrets.token_urlsafe(24)


def token_input() -> Markup:
    """The hidden field with a fresh token: ``{{ submission_token_input() }}`` in a form."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD_NAME, new_token())
