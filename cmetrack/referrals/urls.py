"""The front door: /referrals/... for signed-in users, /report-a-child/ for the public.

Included at the site root by ``config/urls.py``, namespace "referrals"."""

from django.urls import path

from . import views

app_name = "referrals"
urlpatterns = [
    path("referrals/", views.referral_list, name="list"),
    path("referrals/school/", views.school_pick_pupil, name="school-pick"),
    path(
        "referrals/school/pupil/<int:entry_id>/",
        views.school_referral_new,
        name="school-new",
    ),
    path(
        "referrals/school/pupil/<int:entry_id>/check/",
        views.school_referral_check,
        name="school-check",
    ),
    path("referrals/agency/", views.agency_referral_new, name="agency-new"),
    path("referrals/agency/check/", views.agency_referral_check, name="agency-check"),
    path("referrals/triage/", views.triage_list, name="triage-queue"),
    path("referrals/<str:reference>/", views.referral_detail, name="detail"),
    path("referrals/<str:reference>/sent/", views.referral_submitted, name="submitted"),
    path("referrals/<str:reference>/triage/", views.triage, name="triage"),
    path("report-a-child/", views.public_report, name="public-report"),
    path("report-a-child/check/", views.public_report_check, name="public-check"),
    path("report-a-child/sent/", views.public_report_sent, name="public-sent"),
]
