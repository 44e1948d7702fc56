"""HTTP API of the virtualschool app (mounted under /api/v1/)."""

from ninja import Router

router = Router(tags=["Virtual School: children in care"])
