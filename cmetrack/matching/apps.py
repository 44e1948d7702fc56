from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "cmetrack.matching"
    label = "matching"
    verbose_name = "Finding a child (matching)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """The worker keeps every register's search index current (a search never builds
        one): every ten minutes, and at once when a search finds one missing or behind."""
        from cmetrack.jobs.registry import register_schedule

        register_schedule(
            "matching-index-refresh", "cmetrack.matching.jobs.refresh_indexes", minutes=10
        )
