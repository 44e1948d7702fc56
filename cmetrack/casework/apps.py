import datetime as dt

from django.apps import AppConfig


class CaseworkConfig(AppConfig):
    """Tracking work on a case: address searches, contact attempts, notes and tasks."""

    name = "cmetrack.casework"
    label = "casework"
    verbose_name = "Tracking work"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from cmetrack.jobs.registry import register_schedule

        register_schedule(
            "followup-prompts", "cmetrack.casework.jobs.followup_prompts", daily_at=dt.time(6, 0)
        )

        # The cases app's work queues take queues from other apps through this seam.
        from cmetrack.cases import selectors as case_selectors

        from .selectors import OVERDUE_TASKS_QUEUE, with_overdue_tasks

        hooks = getattr(case_selectors, "QUEUE_HOOKS", None)
        if hooks is not None:
            hooks[OVERDUE_TASKS_QUEUE[0]] = (OVERDUE_TASKS_QUEUE[1], with_overdue_tasks)
            case_selectors.QUEUES.setdefault(*OVERDUE_TASKS_QUEUE)
