from django.apps import AppConfig


class CnisConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cmetrack.cnis"
    verbose_name = "Children not in school register"
