import datetime as dt

from django.apps import AppConfig


class TransfersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cmetrack.transfers"
    verbose_name = "Common Transfer Files and the lost-pupil area"

    def ready(self) -> None:
        """Register the CTF roll importer (kind ``ctf_roll``) with the background import
        queue of ``cmetrack.detection.jobs``, when that queue is installed,
        and the nightly lost-pupil matching with the background worker."""
        from cmetrack.jobs.registry import register_schedule

        register_schedule(
            "lost-pupils-match",
            "cmetrack.transfers.jobs.lost_pupils_match",
            daily_at=dt.time(1, 30),
        )
        try:
            from cmetrack.detection import jobs
        except ImportError:  # pragma: no cover - the queue is optional
            return
        register = getattr(jobs, "register_importer", None)
        if register is None:  # pragma: no cover
            return
        from .importers import ctf_roll_import

        # The queue fills its table of built-in importers only while it is empty.
        builtin = getattr(jobs, "_register_builtin", None)
        if builtin is not None:
            builtin()
        register("ctf_roll", ctf_roll_import)
