from django.apps import AppConfig


class AuditConfig(AppConfig):
    """The audit trail. Its sign-in receivers (``signals.py``) are connected when
    ``CoreConfig.ready()`` loads every app's ``signals`` module."""

    name = "cmetrack.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"
