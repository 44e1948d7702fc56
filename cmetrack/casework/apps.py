from django.apps import AppConfig


class CaseworkConfig(AppConfig):
    """Tracking work on a case: address searches, contact attempts, notes and tasks."""

    name = "cmetrack.casework"
    label = "casework"
    verbose_name = "Tracking work"
    default_auto_field = "django.db.models.BigAutoField"
