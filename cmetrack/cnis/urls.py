"""Children-not-in-school register pages, under /children-not-in-school/."""

from __future__ import annotations

from django.urls import URLPattern, path

from . import views

app_name = "cnis"
urlpatterns: list[URLPattern] = [
    path("", views.register, name="register"),
    path("completeness/", views.completeness, name="completeness"),
    path("export.csv", views.export, name="export"),
    path("children/<int:child_id>/", views.child_details, name="child"),
]
