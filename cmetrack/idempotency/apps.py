from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    name = "cmetrack.idempotency"
    label = "idempotency"
    verbose_name = "Submissions sent once"
    default_auto_field = "django.db.models.BigAutoField"
