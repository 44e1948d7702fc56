"""The home-education list's pages, included under /home-education/ by casework/urls.py
(so their names are ``casework:registers:<name>``)."""

from django.urls import path

from . import views

app_name = "registers"
urlpatterns = [
    path("", views.home_education_list, name="list"),
    path("add/", views.home_education_add, name="add"),
    path("consent/", views.consents, name="consents"),
    path("consent/<int:request_id>/decision/", views.consent_decide, name="consent-decide"),
    path("<int:record_id>/", views.home_education_detail, name="detail"),
    path("<int:record_id>/concerns/", views.concern_record, name="concern"),
    path("<int:record_id>/end/", views.record_end, name="end"),
    path("<int:record_id>/notices/", views.record_notice, name="notice"),
    path("<int:record_id>/reason/", views.record_reason, name="reason"),
]
