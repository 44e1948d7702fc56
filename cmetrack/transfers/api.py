"""HTTP API of the transfers app (mounted under /api/v1/)."""

from ninja import Router

router = Router(tags=["Common Transfer Files and the lost-pupil area"])
