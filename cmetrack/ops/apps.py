from django.apps import AppConfig


class OpsConfig(AppConfig):
    """/health/, /metrics and request logs. The request-log receivers (``signals.py``) are
    connected when ``CoreConfig.ready()`` loads every app's ``signals`` module."""

    name = "cmetrack.ops"
    label = "ops"
    verbose_name = "Operations"
