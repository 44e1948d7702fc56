from django.urls import path

from . import views

app_name = "cases"
urlpatterns = [
    path("", views.case_queue, name="queue"),
    path("<int:case_id>/", views.case_detail, name="case-detail"),
    path("<int:case_id>/chronology/", views.case_chronology, name="case-chronology"),
    path("<int:case_id>/actions/<slug:action>/", views.case_action, name="case-action"),
]
