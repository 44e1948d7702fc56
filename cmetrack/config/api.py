"""The HTTP API, version 1, at /api/v1/ (OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs)."""

from ninja import NinjaAPI

from cmetrack.accounts.api import ApiTokenAuth, SessionAuth
from cmetrack.accounts.api import router as accounts_router
from cmetrack.cases.api import router as cases_router
from cmetrack.casework.api import router as casework_router
from cmetrack.cnis.api import router as cnis_router
from cmetrack.detection.api import router as detection_router
from cmetrack.enquiries.api import router as enquiries_router
from cmetrack.matching.api import router as matching_router
from cmetrack.notifications.api import router as notifications_router
from cmetrack.organisations.api import router as organisations_router
from cmetrack.provision.api import router as provision_router
from cmetrack.referrals.api import router as referrals_router
from cmetrack.reports.api import router as reports_router
from cmetrack.safeguarding.api import router as safeguarding_router
from cmetrack.transfers.api import router as transfers_router
from cmetrack.virtualschool.api import router as virtualschool_router

api = NinjaAPI(
    title="Children missing education API",
    version="1",
    description="Case management and tracking for children missing education. "
    "Service accounts send `Authorization: Bearer <token>`; signed-in people use their session.",
    auth=[ApiTokenAuth(), SessionAuth()],
    urls_namespace="api",
)
api.add_router("/", accounts_router)
api.add_router("/", organisations_router)
api.add_router("/", detection_router)
api.add_router("/", matching_router)
api.add_router("/", referrals_router)
api.add_router("/", cases_router)
api.add_router("/", casework_router)
api.add_router("/", safeguarding_router)
api.add_router("/", reports_router)
api.add_router("/", enquiries_router)
api.add_router("/", transfers_router)
api.add_router("/", provision_router)
api.add_router("/", virtualschool_router)
api.add_router("/", cnis_router)
api.add_router("/", notifications_router)
