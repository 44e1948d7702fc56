from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "cmetrack.matching"
    label = "matching"
    verbose_name = "Finding a child (matching)"
    default_auto_field = "django.db.models.BigAutoField"
