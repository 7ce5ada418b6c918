"""/api/v1/crm/ endpoints for activities."""

from ninja import Router

router = Router(tags=["crm"])
