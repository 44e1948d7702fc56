from django.apps import AppConfig


class RegistersConfig(AppConfig):
    name = "cmetrack.registers"
    label = "registers"
    default_auto_field = "django.db.models.BigAutoField"
