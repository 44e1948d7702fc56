from django.contrib import admin
from django.urls import include, path, re_path

from cmetrack.accounts.views import SignInView, SignOutView
from cmetrack.core import views as core_views
from cmetrack.kit.problems import unknown_path
from cmetrack.ops import views as ops_views

from .api import api

admin.site.site_header = "Children missing education: administration"
admin.site.site_title = "CME administration"

urlpatterns = [
    path("", core_views.home, name="home"),
    path("sign-in/", SignInView.as_view(), name="login"),
    path("sign-out/", SignOutView.as_view(), name="logout"),
    path("account/", include("cmetrack.accounts.urls")),
    path("audit/", include("cmetrack.audit.urls")),
    path("data-protection/", include("cmetrack.dataprotection.urls")),
    path("accessibility/", core_views.accessibility, name="accessibility"),
    path("privacy/", core_views.privacy, name="privacy"),
    path("children/", include("cmetrack.people.urls")),
    path("alerts/", include("cmetrack.detection.urls")),
    path("find-a-child/", include("cmetrack.matching.urls")),
    path("", include("cmetrack.referrals.urls")),  # /referrals/..., /report-a-child/
    path("cases/", include("cmetrack.cases.urls")),
    # Tracking work: /cases/<id>/tracking/…, /cases/no-recent-contact/ and /tasks/.
    path("", include("cmetrack.casework.urls")),
    # Safeguarding: /cases/<id>/safeguarding/… and /dormant-reviews/.
    path("", include("cmetrack.safeguarding.urls")),
    path("reports/", include("cmetrack.reports.urls")),
    path("enquiries/", include("cmetrack.enquiries.urls")),
    path("transfers/", include("cmetrack.transfers.urls")),
    path("provision/", include("cmetrack.provision.urls")),
    path("virtual-school/", include("cmetrack.virtualschool.urls")),
    path("children-not-in-school/", include("cmetrack.cnis.urls")),
    path("notifications/", include("cmetrack.notifications.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    # Any other path under /api/ is a 404 problem document, not the HTML page.
    re_path(r"^api/", unknown_path),
    # Operations (docs/operations.md): no sign-in; /metrics only when switched on.
    path("health/", ops_views.HealthView.as_view(), name="health"),
    path("metrics", ops_views.metrics_view, name="metrics"),
]

handler403 = "cmetrack.core.views.error_403"
handler404 = "cmetrack.core.views.error_404"
handler500 = "cmetrack.core.views.error_500"
