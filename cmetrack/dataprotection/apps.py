import datetime as dt

from django.apps import AppConfig


class DataProtectionConfig(AppConfig):
    name = "cmetrack.dataprotection"
    label = "dataprotection"
    verbose_name = "Data protection"

    def ready(self) -> None:
        from cmetrack.jobs.registry import register_schedule

        register_schedule(
            "retention-list", "cmetrack.dataprotection.jobs.retention_list", daily_at=dt.time(5, 0)
        )
