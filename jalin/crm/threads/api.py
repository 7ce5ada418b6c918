"""/api/v1/crm/ endpoints for threads."""

from ninja import Router

router = Router(tags=["crm"])
