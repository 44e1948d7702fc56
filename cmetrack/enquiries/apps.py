import datetime as dt

from django.apps import AppConfig


class EnquiriesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cmetrack.enquiries"
    verbose_name = "Inter-authority enquiries"

    def ready(self) -> None:
        from cmetrack.jobs.registry import register_schedule

        register_schedule(
            "enquiry-reply-reminders",
            "cmetrack.enquiries.jobs.enquiry_reply_reminders",
            daily_at=dt.time(6, 30),
            weekdays_only=True,
        )
        register_schedule(
            "enquiry-reply-emails",
            "cmetrack.enquiries.jobs.enquiry_reply_emails",
            daily_at=dt.time(6, 35),
            weekdays_only=True,
        )
