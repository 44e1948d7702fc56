"""The jobs app's receivers, connected once by ``CoreConfig.ready()``.

- After ``migrate`` (sent for this app, after every app's ``jobs`` module has registered
  its schedules): the ``Schedule`` rows follow the code.
- In each task process the worker spawns: it stops when the ``cmetrack worker`` that
  started it has gone.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.db import connections
from django.db.models.signals import post_migrate
from django_q.signals import post_spawn  # type: ignore[import-untyped]

from .registry import sync_schedules
from .watch import watch_worker


def _sync_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    connection = connections[using]
    if "django_q_schedule" not in connection.introspection.table_names():
        return  # django_q is not migrated (yet) on this database
    sync_schedules(using=using)


post_migrate.connect(
    _sync_after_migrate, sender=apps.get_app_config("jobs"), dispatch_uid="cmetrack-jobs-sync"
)
post_spawn.connect(watch_worker, dispatch_uid="cmetrack-jobs-watch-worker")
