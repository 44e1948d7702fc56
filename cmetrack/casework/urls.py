"""Tracking pages. Mounted at the site root (config/urls.py) because "Your tasks" lives at
/tasks/; every other page is under /cases/, beside the cases app's own pages."""

from django.urls import include, path

from . import child_views, views

app_name = "casework"
urlpatterns = [
    # The home-education list (registers app): casework:registers:<name>.
    path("home-education/", include("cmetrack.registers.urls")),
    path("tasks/", views.my_tasks, name="my-tasks"),
    path("cases/no-recent-contact/", views.no_recent_contact, name="no-recent-contact"),
    path("cases/<int:case_id>/tracking/", views.case_tracking, name="case-tracking"),
    path(
        "cases/<int:case_id>/tracking/checks/<int:source_id>/",
        views.check_record,
        name="check-record",
    ),
    path("cases/<int:case_id>/tracking/checks/", views.checklist_record, name="checklist-record"),
    path("cases/<int:case_id>/tracking/contacts/", views.contact_record, name="contact-record"),
    path("cases/<int:case_id>/tracking/notes/", views.note_add, name="note-add"),
    path("cases/<int:case_id>/consultations/", views.consultations, name="consultations"),
    path("cases/<int:case_id>/child/", child_views.child_details, name="child-details"),
    path("cases/<int:case_id>/tracking/tasks/", views.task_add, name="task-add"),
    path(
        "cases/<int:case_id>/tracking/tasks/<int:task_id>/done/",
        views.task_complete,
        name="task-complete",
    ),
]
