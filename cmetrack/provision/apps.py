from django.apps import AppConfig


class ProvisionConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cmetrack.provision"
    verbose_name = "Providers, places and securing provision"
