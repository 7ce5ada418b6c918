"""/api/v1/crm/ endpoints for documents."""

from ninja import Router

router = Router(tags=["crm"])
