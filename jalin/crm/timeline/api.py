"""/api/v1/crm/ endpoints for timeline."""

from ninja import Router

router = Router(tags=["crm"])
