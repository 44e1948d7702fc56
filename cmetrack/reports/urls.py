from django.urls import path, re_path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("figures/<slug:key>/", views.figure, name="figure"),
    path("figures/<slug:key>/cases/", views.figure_cases, name="figure-cases"),
    path("trends/", views.trends, name="trends"),
    path("pace/", views.pace, name="pace"),
    path("pace/<slug:measure>/over/", views.pace_over, name="pace-over"),
    path("dfe-return/", views.dfe_return, name="dfe-return"),
    path(
        "dfe-return/submitted/<int:submission_id>.csv",
        views.dfe_submission,
        name="dfe-submission",
    ),
    path("termly/", views.termly_history, name="termly-history"),
    path("termly/issuing/<str:token>/", views.termly_issuing, name="termly-issuing"),
    path("termly/<int:report_id>/", views.termly_detail, name="termly-detail"),
    path("termly/<int:report_id>/pdf/", views.termly_pdf, name="termly-pdf"),
    path("checklist/", views.checklist, name="checklist"),
    path("checklist/<int:point>/", views.checklist_point, name="checklist-point"),
    re_path(r"^export/(?P<name>[a-z0-9_:-]+)\.(?P<fmt>csv|xlsx)$", views.export, name="export"),
]
