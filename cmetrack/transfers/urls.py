"""Transfer files and the lost-pupil area."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

app_name = "transfers"
urlpatterns: list[URLPattern] = [
    path("upload/", views.upload, name="upload"),
    path("lost-pupils/", views.lost_pupils, name="lost-pupils"),
    path("lost-pupils/<int:lost_id>/", views.lost_pupil, name="lost-pupil"),
    path("lost-pupils/<int:lost_id>/forward/", views.lost_pupil_forward, name="lost-pupil-forward"),
    path("lost-pupils/<int:lost_id>/close/", views.lost_pupil_close, name="lost-pupil-close"),
    path("requests/", views.requests_list, name="requests"),
    path("requests/new/", views.request_new, name="request-new"),
    path("requests/<int:request_id>/", views.request_detail, name="request"),
    path(
        "requests/<int:request_id>/forward/<int:lost_id>/",
        views.request_forward,
        name="request-forward",
    ),
    path("requests/<int:request_id>/not-found/", views.request_not_found, name="request-not-found"),
    path("files/<int:file_id>/download/", views.file_download, name="file-download"),
    path("children/<int:child_id>/export/", views.child_export, name="child-export"),
    path("activity/", views.activity, name="activity"),
]
