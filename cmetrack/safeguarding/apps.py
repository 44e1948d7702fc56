from django.apps import AppConfig


class SafeguardingConfig(AppConfig):
    """Safeguarding on a case: vulnerability screening, risk assessment, dormant reviews."""

    name = "cmetrack.safeguarding"
    label = "safeguarding"
    verbose_name = "Safeguarding"
    default_auto_field = "django.db.models.BigAutoField"
