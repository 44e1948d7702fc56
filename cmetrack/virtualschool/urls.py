"""Virtual School pages, under /virtual-school/ (config/urls.py)."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

app_name = "virtualschool"
urlpatterns: list[URLPattern] = [
    path("", views.dashboard, name="dashboard"),
    path("children/", views.records, name="records"),
    path("children/<int:child_id>/in-care/new/", views.record_new, name="record-new"),
    path("records/<int:record_id>/", views.record_detail, name="record"),
    path("records/<int:record_id>/edit/", views.record_edit, name="record-edit"),
    path("records/<int:record_id>/placements/new/", views.placement_new, name="placement-new"),
    path("placements/<int:placement_id>/school/", views.placement_school, name="placement-school"),
    path(
        "placement-alerts/<int:alert_id>/resolve/",
        views.placement_alert_resolve,
        name="placement-alert-resolve",
    ),
    path(
        "attendance-alerts/<int:alert_id>/acknowledge/",
        views.attendance_alert_acknowledge,
        name="attendance-alert-acknowledge",
    ),
    path(
        "attendance-alerts/<int:alert_id>/dismiss/",
        views.attendance_alert_dismiss,
        name="attendance-alert-dismiss",
    ),
    path("records/<int:record_id>/peps/new/", views.pep_new, name="pep-new"),
    path("peps/<int:pep_id>/", views.pep_detail, name="pep"),
    path("peps/<int:pep_id>/edit/", views.pep_edit, name="pep-edit"),
    path("peps/<int:pep_id>/review/", views.pep_review, name="pep-review"),
    path("peps/<int:pep_id>/print/", views.pep_print, name="pep-print"),
    path("peps/<int:pep_id>/pdf/", views.pep_pdf, name="pep-pdf"),
]
