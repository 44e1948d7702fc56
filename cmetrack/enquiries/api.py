"""HTTP API of the enquiries app (mounted under /api/v1/)."""

from ninja import Router

router = Router(tags=["Inter-authority enquiries"])
