import datetime as dt

from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    name = "cmetrack.idempotency"
    label = "idempotency"
    verbose_name = "Submissions sent once"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cmetrack.jobs.registry import register_schedule

        register_schedule(
            "submissions-purge",
            "cmetrack.idempotency.jobs.submissions_purge_old",
            daily_at=dt.time(3, 30),
        )
