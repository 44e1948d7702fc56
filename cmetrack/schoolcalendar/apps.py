from django.apps import AppConfig


class SchoolCalendarConfig(AppConfig):
    name = "cmetrack.schoolcalendar"
    label = "schoolcalendar"
    verbose_name = "School calendar"
    default_auto_field = "django.db.models.BigAutoField"
