from __future__ import annotations

from django.apps import AppConfig


class JobsConfig(AppConfig):
    """Background jobs (django-q2). Its receivers (``signals.py``: the schedule sync after
    ``migrate`` and the worker watch in each task process) are connected when
    ``CoreConfig.ready()`` loads every app's ``signals`` module."""

    name = "cmetrack.jobs"
    label = "jobs"
    verbose_name = "Background jobs"
    default_auto_field = "django.db.models.BigAutoField"
