"""``cmetrack worker``: the background worker (django-q2's cluster and a heartbeat).

It makes the schedules match the code (:func:`cmetrack.jobs.registry.sync_schedules`),
starts the cluster (``Q_CLUSTER``: ``CMETRACK_WORKERS`` processes take queued tasks and
run the schedules) and says it is alive every ten seconds (:class:`~cmetrack.jobs.models.
WorkerBeat`). SIGTERM or SIGINT (Ctrl+C) stops it cleanly: the running tasks finish first.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, connections

from cmetrack.jobs import status
from cmetrack.jobs.registry import check_functions, sync_schedules
from cmetrack.jobs.watch import WORKER_PID_ENV

logger = logging.getLogger("cmetrack.jobs.worker")


class Command(BaseCommand):
    help = "Run the background worker: queued imports and the scheduled jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--beat-seconds",
            type=float,
            default=status.BEAT_SECONDS,
            help="Seconds between heartbeats (default 10).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from django_q.cluster import Cluster  # type: ignore[import-untyped]
        from django_q.conf import Conf  # type: ignore[import-untyped]

        stopping = threading.Event()

        def on_signal(signum: int, frame: Any) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        name = status.worker_name()
        # The cluster's processes are forked from this one: tasks read whose they are.
        os.environ[status.WORKER_NAME_ENV] = name
        os.environ[WORKER_PID_ENV] = str(os.getpid())  # they stop if this process is killed
        for problem in check_functions():
            self.stderr.write(f"Schedule problem: {problem}")
        counts = sync_schedules()
        self.stdout.write(
            "Schedules: {created} created, {updated} updated, {removed} removed, "
            "{unchanged} unchanged".format(**counts)
        )
        status.beat(name)
        connections.close_all()  # no connection crosses the fork into the cluster

        if stopping.is_set():
            status.beat_stop(name)
            self.stdout.write(f"Worker {name} stopped before it started.")
            return
        cluster = Cluster()  # sets its own signal handlers: ours take their place again
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        cluster.start()
        # The heartbeat goes on until the cluster has stopped (running tasks finish first).
        beats_done = threading.Event()
        beats = threading.Thread(
            target=_beat_loop,
            args=(name, beats_done, options["beat_seconds"]),
            name="cmetrack-worker-beat",
            daemon=True,
        )
        beats.start()
        self.stdout.write(
            f"Worker {name} running: {Conf.WORKERS} processes, queue {Conf.CLUSTER_NAME!r}. "
            "Stop with Ctrl+C or SIGTERM."
        )
        self.stdout.flush()
        failed = False
        while not stopping.wait(1.0):
            if cluster.sentinel is None or not cluster.sentinel.is_alive():
                self.stderr.write("The worker's cluster stopped unexpectedly.")
                failed = True
                break
        self.stdout.write(f"Worker {name} stopping: running tasks finish first.")
        self.stdout.flush()
        stopping.set()
        if cluster.sentinel is not None and cluster.sentinel.is_alive():
            _stop_cluster(cluster)
        beats_done.set()
        beats.join(timeout=30)
        status.beat_stop(name)
        connection.close()
        self.stdout.write(f"Worker {name} stopped.")
        if failed:
            raise SystemExit(1)


def _stop_cluster(cluster: Any) -> None:
    """``cluster.stop()``, which waits for the running tasks. It is run in a thread of its
    own because it can never return when the cluster's processes were killed at the same
    moment as this one (Ctrl+C reaches every process of the terminal; ``kill`` of the whole
    group): it then waits on a lock a dead process held. Once the cluster's sentinel is gone
    there is nothing left to wait for."""
    done = threading.Event()

    def stop() -> None:
        try:
            cluster.stop()
        finally:
            done.set()

    threading.Thread(target=stop, name="cmetrack-worker-stop", daemon=True).start()
    while not done.wait(1.0):
        if cluster.sentinel is None or not cluster.sentinel.is_alive():
            logger.warning("the worker's cluster stopped by itself: not waiting for it")
            return


def _beat_loop(name: str, stopping: threading.Event, every: float) -> None:
    """Beat until told to stop (own thread, own database connection)."""
    try:
        while not stopping.is_set():
            started = time.monotonic()
            if not status.beat(name):
                logger.warning("worker %s: could not record its heartbeat (database busy)", name)
            stopping.wait(max(0.0, every - (time.monotonic() - started)))
    finally:
        connection.close()
