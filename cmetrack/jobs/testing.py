"""Run queued tasks in this process, as the cluster would (for tests and one-off use).

Each queued task goes through django-q2's own worker and monitor functions: the task runs,
its result is saved (``django_q.models.Task``) and its queue row is acknowledged. Unlike
the cluster's processes, they keep this process's database connection (a test's
transaction), as django-q2's own sync mode does.
"""

from __future__ import annotations

from contextlib import ExitStack
from multiprocessing import Value
from multiprocessing.queues import Queue as _Queue
from typing import Any
from unittest import mock

from django.utils import timezone
from django_q.brokers import get_broker  # type: ignore[import-untyped]
from django_q.conf import Conf  # type: ignore[import-untyped]
from django_q.models import OrmQ  # type: ignore[import-untyped]
from django_q.monitor import monitor  # type: ignore[import-untyped]
from django_q.queues import Queue  # type: ignore[import-untyped]
from django_q.signing import SignedPackage  # type: ignore[import-untyped]
from django_q.worker import worker  # type: ignore[import-untyped]


def run_queued(limit: int = 100) -> list[dict[str, Any]]:
    """Run up to ``limit`` queued tasks, oldest first; return the finished task packages."""
    with ExitStack() as stack:
        for module in ("django_q.worker", "django_q.monitor"):
            stack.enter_context(mock.patch(f"{module}.close_old_django_connections", _keep))
        return _run(get_broker(), limit)


def _keep() -> None:
    """Keep the connection (the cluster's processes close theirs between tasks)."""


def _run(broker: Any, limit: int) -> list[dict[str, Any]]:
    finished: list[dict[str, Any]] = []
    for _ in range(limit):
        waiting = OrmQ.objects.filter(key=broker.list_key, lock__lt=timezone.now())
        if not waiting.exists():
            break  # (the broker would sleep a poll interval on an empty queue)
        for ack_id, payload in broker.dequeue() or []:
            task = SignedPackage.loads(payload)
            task["cluster"] = Conf.CLUSTER_NAME
            task["ack_id"] = ack_id
            task_queue: _Queue[Any] = Queue()
            result_queue: _Queue[Any] = Queue()
            task_queue.put(task)
            task_queue.put("STOP")
            worker(task_queue, result_queue, Value("f", -1))
            done = result_queue.get()
            finished.append(done)
            result_queue.put(done)
            result_queue.put("STOP")
            monitor(result_queue, broker)
            for q in (task_queue, result_queue):
                q.close()
                q.join_thread()
    return finished
