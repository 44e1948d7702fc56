from django.apps import AppConfig


class DetectionConfig(AppConfig):
    name = "cmetrack.detection"
    label = "detection"
    verbose_name = "Data feeds and detection"
    default_auto_field = "django.db.models.BigAutoField"
