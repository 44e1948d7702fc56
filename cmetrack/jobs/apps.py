from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class JobsConfig(AppConfig):
    name = "cmetrack.jobs"
    label = "jobs"
    verbose_name = "Background jobs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Once per migrate (sent for this app), after every app's ready() has registered
        # its schedules: the Schedule rows follow the code.
        post_migrate.connect(_sync_after_migrate, sender=self, dispatch_uid="cmetrack-jobs-sync")
        # Each task process stops when the ``cmetrack worker`` that started it has gone.
        from django_q.signals import post_spawn  # type: ignore[import-untyped]

        from .watch import watch_worker

        post_spawn.connect(watch_worker, dispatch_uid="cmetrack-jobs-watch-worker")


def _sync_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    from .registry import sync_schedules

    connection = connections[using]
    if "django_q_schedule" not in connection.introspection.table_names():
        return  # django_q is not migrated (yet) on this database
    sync_schedules(using=using)
