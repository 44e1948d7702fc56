"""HTTP API of the provision app (mounted under /api/v1/)."""

from ninja import Router

router = Router(tags=["Providers, places and securing provision"])
