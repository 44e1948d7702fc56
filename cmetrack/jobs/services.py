"""Queue work for the worker. Callers never import django_q themselves."""

from __future__ import annotations

from typing import Any

#: Keyword arguments that django-q2 would take as its own options, not the task's.
RESERVED = frozenset(
    {
        "hook",
        "group",
        "save",
        "sync",
        "cached",
        "ack_failure",
        "iter_count",
        "iter_cached",
        "chain",
        "broker",
        "cluster",
        "timeout",
        "q_options",
    }
)


def enqueue(func: str, *args: Any, task_name: str | None = None, **kwargs: Any) -> str:
    """Queue ``func`` (a dotted path) with JSON-like arguments; return the task id.

    The cluster's settings apply (``Q_CLUSTER``: timeout, retry, attempts). The task runs
    when a worker (``cmetrack worker``) takes it; with ``sync`` on, at once, here.
    """
    from django_q.tasks import async_task  # type: ignore[import-untyped]

    clash = RESERVED.intersection(kwargs)
    if clash:
        raise TypeError(f"enqueue: {', '.join(sorted(clash))} would be taken as queue options")
    options: dict[str, Any] = {}
    if task_name:
        options["task_name"] = task_name[:100]
    task_id: str = async_task(func, *args, q_options=options, **kwargs)
    return task_id
