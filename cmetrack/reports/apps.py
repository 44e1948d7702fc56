import datetime as dt

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cmetrack.reports"
    verbose_name = "Monitoring and reports"

    def ready(self) -> None:
        from cmetrack.jobs.registry import register_schedule

        # Each day: has this term's census day passed with no report issued yet?
        register_schedule(
            "termly-report", "cmetrack.reports.jobs.termly_report_due", daily_at=dt.time(7, 0)
        )
