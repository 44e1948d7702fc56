"""Connects the request-log receivers (loaded once by ``CoreConfig.ready()``)."""

from __future__ import annotations

from .logs import connect_request_log_signals

connect_request_log_signals()
