from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Emails through GOV.UK Notify: message rows, delivery, preferences (ADR 0014)."""

    name = "cmetrack.notifications"
    label = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"
