import datetime as dt

from django.apps import AppConfig


class DetectionConfig(AppConfig):
    name = "cmetrack.detection"
    label = "detection"
    verbose_name = "Data feeds and detection"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cmetrack.jobs.registry import register_schedule

        # Imports whose worker died are failed within a minute; lost tasks are queued again.
        register_schedule("imports-watchdog", "cmetrack.detection.jobs.imports_watchdog", minutes=1)
        # Nightly, besides the run after each roll or attendance import.
        register_schedule(
            "detection-nightly", "cmetrack.detection.jobs.detect_today", daily_at=dt.time(2, 0)
        )
        # Schools whose attendance feed has gone quiet: the CME team is emailed.
        register_schedule(
            "attendance-feed-stale",
            "cmetrack.detection.jobs.attendance_feeds_stale",
            daily_at=dt.time(7, 30),
            weekdays_only=True,
        )
