import datetime as dt

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Emails through GOV.UK Notify: message rows, delivery, preferences (ADR 0014)."""

    name = "cmetrack.notifications"
    label = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cmetrack.jobs.registry import register_schedule

        from . import checks  # noqa: F401  (registers the system checks)

        register_schedule(
            "notifications-deliver", "cmetrack.notifications.jobs.deliver_due", minutes=1
        )
        register_schedule(
            "notifications-digest",
            "cmetrack.notifications.jobs.send_digests",
            daily_at=dt.time(7, 0),
        )
