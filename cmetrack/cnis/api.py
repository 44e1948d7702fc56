"""HTTP API of the cnis app (mounted under /api/v1/)."""

from ninja import Router

router = Router(tags=["Children not in school register"])
