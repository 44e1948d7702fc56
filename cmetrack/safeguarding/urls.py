"""Safeguarding pages. Mounted at the site root (config/urls.py): a case's pages are
under /cases/<id>/safeguarding/, beside the cases app's own; the review queue is at
/dormant-reviews/."""

from django.urls import path

from . import views

app_name = "safeguarding"
_ra = "cases/<int:case_id>/safeguarding/risk-assessments/<int:assessment_id>/"
urlpatterns = [
    path("dormant-reviews/", views.reviews_queue, name="reviews"),
    path("risk-assessments/to-authorise/", views.to_authorise, name="to-authorise"),
    path("cases/<int:case_id>/safeguarding/", views.case_safeguarding, name="case"),
    path("cases/<int:case_id>/safeguarding/screening/", views.screening, name="screening"),
    path(
        "cases/<int:case_id>/safeguarding/risk-assessments/new/",
        views.risk_assessment_new,
        name="risk-assessment-new",
    ),
    path(_ra, views.risk_assessment_detail, name="risk-assessment"),
    path(f"{_ra}authorise/", views.risk_assessment_authorise, name="risk-assessment-authorise"),
    path(f"{_ra}print/", views.risk_assessment_print, name="risk-assessment-print"),
    path(f"{_ra}pdf/", views.risk_assessment_pdf, name="risk-assessment-pdf"),
    path("cases/<int:case_id>/safeguarding/dormant/", views.make_dormant, name="make-dormant"),
    path("cases/<int:case_id>/safeguarding/reviews/new/", views.review_new, name="review-new"),
    path(
        "cases/<int:case_id>/safeguarding/virtual-school/",
        views.virtual_school_tell,
        name="virtual-school-tell",
    ),
]
