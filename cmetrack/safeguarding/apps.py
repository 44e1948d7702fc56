import datetime as dt

from django.apps import AppConfig


class SafeguardingConfig(AppConfig):
    """Safeguarding on a case: vulnerability screening, risk assessment, dormant reviews."""

    name = "cmetrack.safeguarding"
    label = "safeguarding"
    verbose_name = "Safeguarding"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cmetrack.jobs.registry import register_schedule

        register_schedule(
            "dormant-review-reminders",
            "cmetrack.safeguarding.jobs.dormant_review_reminders",
            daily_at=dt.time(6, 15),
            weekdays_only=True,
        )
        register_schedule(
            "dormant-review-emails",
            "cmetrack.safeguarding.jobs.dormant_review_emails",
            daily_at=dt.time(6, 20),
            weekdays_only=True,
        )
