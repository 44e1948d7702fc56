"""``/health/`` and ``/metrics``: for the load balancer and Prometheus, not for people."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from health_check.base import HealthCheckResult  # type: ignore[import-untyped]
from health_check.exceptions import ServiceWarning  # type: ignore[import-untyped]
from health_check.views import HealthCheckView  # type: ignore[import-untyped]

from . import metrics
from .health import CHECKS, CmetrackCheck

OK, DEGRADED, UNAVAILABLE = "ok", "degraded", "unavailable"


def health_summary(results: Sequence[HealthCheckResult]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and the JSON body for the checks' results.

    503 only when a critical check (database, var directory) fails outright; a warning from
    any check, or a failure of a non-critical one, is "degraded" with 200."""
    checks: dict[str, dict[str, Any]] = {}
    overall = OK
    for result in results:
        check = result.check
        assert isinstance(check, CmetrackCheck)
        entry: dict[str, Any] = {"critical": check.critical}
        if result.error is None:
            entry["status"] = "ok"
        elif isinstance(result.error, ServiceWarning):
            entry["status"] = "warning"
            entry["message"] = result.error.message  # our own sentence (health.py)
        else:
            entry["status"] = "failed"
            entry["message"] = check.failure_message
        entry.update(check.details)
        checks[check.name] = entry
        if entry["status"] == "failed" and check.critical:
            overall = UNAVAILABLE
        elif entry["status"] != "ok" and overall == OK:
            overall = DEGRADED
    return (503 if overall == UNAVAILABLE else 200), {"status": overall, "checks": checks}


class HealthView(HealthCheckView):  # type: ignore[misc]  # the library has no type hints
    """django-health-check's view with our checks, always answering JSON (see health.py)."""

    checks = CHECKS

    def get_executor(self) -> contextlib.AbstractContextManager[Executor | None]:
        return _executor()

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        with self.get_executor() as executor:
            results = await asyncio.gather(
                *(check.get_result(executor) for check in self.get_checks())
            )
        status, body = health_summary(results)
        return JsonResponse(body, status=status)


@contextlib.contextmanager
def _executor() -> Iterator[Executor]:
    # Not waiting for the threads on the way out: a check that hangs past its timeout must
    # not hold the probe's answer back.
    executor = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="health")
    try:
        yield executor
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def client_allowed(address: str, allowed: list[str]) -> bool:
    """Whether ``address`` is one of ``allowed`` (addresses or networks such as 10.0.0.0/8)."""
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    for entry in allowed:
        try:
            if client in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus's text format, only with ``CMETRACK_METRICS`` on and only for the
    addresses in ``CMETRACK_METRICS_ALLOWED_IPS``; anyone else gets a 404, as if there were
    no such page."""
    if not settings.CMETRACK_METRICS:
        raise Http404
    if not client_allowed(
        request.META.get("REMOTE_ADDR", ""), settings.CMETRACK_METRICS_ALLOWED_IPS
    ):
        raise Http404
    body, content_type = metrics.exposition()
    response = HttpResponse(body, content_type=content_type)
    response["Cache-Control"] = "no-store"
    return response
