import gc

from django.apps import AppConfig


class OpsConfig(AppConfig):
    """/health/, /metrics and request logs. The request-log receivers (``signals.py``) are
    connected when ``CoreConfig.ready()`` loads every app's ``signals`` module."""

    name = "cmetrack.ops"
    label = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        """Freeze the start-up heap (the last app in ``INSTALLED_APPS``, so every app's
        modules, models and registries are loaded): the garbage collector's full
        collections then leave those objects alone, instead of walking Django's 100,000 and
        more of them again each time a command, a request or a job has made enough new ones
        (``cmetrack detect`` at full size spent 0.2-0.4 s in five such collections;
        ADR 0009). It is also what Python advises before a server forks its workers
        (their copies of the heap stay shared). The objects are not released until the
        process ends, and they would not have been anyway."""
        gc.freeze()
