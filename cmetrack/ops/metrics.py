"""Prometheus metrics (``CMETRACK_METRICS=true``; docs/operations.md, "Health and metrics").

Two sources go into one ``/metrics`` page:

* **Requests**: django-prometheus's middleware counts requests and times them in every
  gunicorn worker process. With more than one process each keeps its own figures, so the
  settings switch prometheus_client to its multiprocess mode: every process writes its
  figures to files in ``PROMETHEUS_MULTIPROC_DIR`` (``$CMETRACK_VAR_DIR/prometheus`` unless
  set) and the page adds them up. The directory must be emptied when the web service
  starts (the systemd unit in docs/operations.md does it).
* **The service's state**, read from the database when Prometheus asks: jobs waiting, the
  age of the oldest, whether a worker is alive, failed imports. These are worked out at
  scrape time, so they are the same whichever process answers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import prometheus_client
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from cmetrack.detection.models import ImportRun, ImportStatus
from cmetrack.jobs import status as jobs_status

logger = logging.getLogger(__name__)


class ServiceStateCollector(Collector):
    """The service's state, read when Prometheus scrapes."""

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        up = GaugeMetricFamily(
            "cmetrack_state_up", "1 when the service's state could be read from the database."
        )
        try:
            queued = jobs_status.queue_depth()
            oldest = jobs_status.oldest_job_age()
            alive = jobs_status.worker_alive()
            failed = ImportRun.objects.filter(status=ImportStatus.FAILED).count()
        except Exception:
            logger.warning("metrics: the service's state could not be read", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily(
            "cmetrack_jobs_queued", "Background jobs queued and not finished.", value=queued
        )
        yield GaugeMetricFamily(
            "cmetrack_jobs_oldest_age_seconds",
            "How long the oldest job in the queue has waited (0 when the queue is empty).",
            value=oldest.total_seconds() if oldest is not None else 0.0,
        )
        yield GaugeMetricFamily(
            "cmetrack_worker_alive",
            "1 when a background worker has sent a heartbeat within the last minute.",
            value=1 if alive else 0,
        )
        yield CounterMetricFamily(
            "cmetrack_imports_failed",
            "Imports that ended as failed (all time; a rise means new failures).",
            value=failed,
        )


#: The state collector's own registry (never the multiprocess one: it is read per scrape).
STATE_REGISTRY = CollectorRegistry(auto_describe=False)
STATE_REGISTRY.register(ServiceStateCollector())


def request_registry() -> CollectorRegistry:
    """The request metrics: summed over every process's files in multiprocess mode,
    otherwise this process's default registry."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return prometheus_client.REGISTRY


def exposition() -> tuple[bytes, str]:
    """The page Prometheus reads, and its content type."""
    body = prometheus_client.generate_latest(request_registry())
    body += prometheus_client.generate_latest(STATE_REGISTRY)
    return body, prometheus_client.CONTENT_TYPE_LATEST
