"""/api/v1/crm/ endpoints for search."""

from ninja import Router

router = Router(tags=["crm"])
