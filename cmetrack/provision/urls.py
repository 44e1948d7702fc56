from __future__ import annotations

from django.urls import URLPattern, path

from . import views

app_name = "provision"
urlpatterns: list[URLPattern] = [
    path("places/", views.places_list, name="places"),
    path("places/import/", views.places_import, name="import"),
    path("places/export/", views.places_export, name="export"),
    path("places/<int:provider_id>/", views.provider_detail, name="provider"),
    path("places/<int:provider_id>/details/", views.provider_profile, name="provider-profile"),
    path("delays/", views.delays, name="delays"),
    path("cases/<int:case_id>/", views.case_provision, name="case"),
    path("cases/<int:case_id>/recommend/", views.recommend, name="recommend"),
    path("cases/<int:case_id>/applications/", views.application_add, name="application-add"),
    path(
        "cases/<int:case_id>/applications/<int:application_id>/outcome/",
        views.application_outcome,
        name="application-outcome",
    ),
    path("cases/<int:case_id>/panel/", views.panel_refer, name="panel-refer"),
    path(
        "cases/<int:case_id>/panel/<int:referral_id>/decision/",
        views.panel_decide,
        name="panel-decision",
    ),
    path("cases/<int:case_id>/start/", views.start, name="start"),
    path("cases/<int:case_id>/start/again/", views.start_again, name="start-again"),
]
