from django.apps import AppConfig


class TransfersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cmetrack.transfers"
    verbose_name = "Common Transfer Files and the lost-pupil area"
