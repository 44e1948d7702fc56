from django.apps import AppConfig


class VirtualschoolConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cmetrack.virtualschool"
    verbose_name = "Virtual School: children in care"
