"""What detection adds to the layers below it (loaded by ``CoreConfig.ready()``): a
school's data-feed token sends feeds and reads its feed runs, nothing else of the API (it
is a school user of its school, but an MIS or its integrator needs no more than that)."""

from __future__ import annotations

from cmetrack.accounts.api import token_scope_register

from .feeds import is_school_feed_account

token_scope_register(
    is_school_feed_account,
    "/api/v1/feeds/",
    "This token is a school's data-feed token: it may only send feeds and follow their "
    "runs (/api/v1/feeds/). Use a person's sign-in or another service account for the "
    "rest of the API.",
)
