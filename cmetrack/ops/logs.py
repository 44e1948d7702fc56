"""Structured logs: structlog, with django-structlog's request middleware.

Every line, ours and Django's alike, goes through one ``ProcessorFormatter``: JSON in
production (one object a line), readable text in development. django-structlog binds a
``request_id`` to every line logged while a request is handled: the proxy's
``X-Request-ID`` when it sends a sensible one, otherwise a new UUID; ``RequestIdMiddleware``
returns it in the response's ``X-Request-ID``.

What is never logged: query strings (search pages carry names in them), form bodies, names
or email addresses. The request is logged as its method and path only; the person as their
user id only. The audit trail is the record of who saw what; logs are for running the
service. This module is imported by the settings, so it imports nothing from Django apps.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

import structlog
from django.utils.functional import LazyObject, empty

#: The header a proxy may send; an id that does not look like one is replaced.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")

#: Run on every line, from structlog or from the standard library.
SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.stdlib.ExtraAdder(allow={"status_code"}),
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_structlog() -> None:
    """structlog hands its events to the standard library, whose formatter renders them."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def formatter(*, json: bool) -> dict[str, Any]:
    """A ``logging`` formatter entry: JSON lines or readable text."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    processors: list[Any] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json:
        # A plain traceback string: never the frames' local variables, which may hold data.
        processors.append(structlog.processors.format_exc_info)
    processors.append(renderer)
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "processors": processors,
        "foreign_pre_chain": SHARED_PROCESSORS,
    }


def logging_config(*, json: bool, level: str = "INFO") -> dict[str, Any]:
    """The ``LOGGING`` setting: one handler on standard error, JSON or text."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": formatter(json=json)},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "structured"},
        },
        "root": {"handlers": ["console"], "level": "WARNING"},
        "loggers": {
            "cmetrack": {"level": level},
            "django_structlog": {"level": level},
            "health_check": {"level": "WARNING", "filters": ["expected_health_warnings"]},
            # A request for another host name (scanners): answered 400 and logged as such
            # by request_finished, without Django's traceback for each one.
            "django.security.DisallowedHost": {"level": "CRITICAL"},
        },
        "filters": {"expected_health_warnings": {"()": ExpectedHealthWarningFilter}},
    }


class ExpectedHealthWarningFilter(logging.Filter):
    """Drops django-health-check's traceback for a check's *warning* (a stopped worker, an
    index being built): /health/ reports it, and a probe every few seconds would otherwise
    log the same traceback each time. Failures are still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return error is None or "ServiceWarning" not in {c.__name__ for c in type(error).__mro__}


def request_id() -> str | None:
    """The current request's id (None outside a request)."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value) if value else None


def _request_line(request: Any) -> str:
    """Method and path: never the query string."""
    return f"{request.method} {request.path}"


def _user_id(request: Any) -> int | str | None:
    """The signed-in person's id when the request has already loaded them: never a query of
    its own (a log line must not need the database, which may be the thing that failed)."""
    wrapped = getattr(request, "user", None)
    while isinstance(wrapped, LazyObject):
        wrapped = getattr(wrapped, "_wrapped", None)
        if wrapped is empty:  # not loaded by the request: leave it
            return None
    if not getattr(wrapped, "is_authenticated", False):
        return None
    pk = getattr(wrapped, "pk", None)
    return pk if isinstance(pk, int | str) else None


def _on_request_started(request: Any, log_kwargs: dict[str, Any], **_: Any) -> None:
    current = request_id()
    if current is None or not REQUEST_ID_PATTERN.fullmatch(current):
        structlog.contextvars.bind_contextvars(request_id=str(uuid.uuid4()))
    log_kwargs["request"] = _request_line(request)


def _on_request_finished(request: Any, log_kwargs: dict[str, Any], **_: Any) -> None:
    log_kwargs["request"] = _request_line(request)
    user_id = _user_id(request)
    if user_id is not None:
        log_kwargs["user_id"] = user_id


def _on_request_failed(request: Any, log_kwargs: dict[str, Any], **_: Any) -> None:
    _on_request_finished(request, log_kwargs)


def connect_request_log_signals() -> None:
    """Called once, from ``ops/signals.py``."""
    from django_structlog import signals

    signals.bind_extra_request_metadata.connect(_on_request_started, dispatch_uid="ops-start")
    signals.bind_extra_request_finished_metadata.connect(
        _on_request_finished, dispatch_uid="ops-finish"
    )
    signals.bind_extra_request_failed_metadata.connect(
        _on_request_failed, dispatch_uid="ops-failed"
    )
