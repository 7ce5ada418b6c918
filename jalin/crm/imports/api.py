"""/api/v1/crm/ endpoints for imports."""

from ninja import Router

router = Router(tags=["crm"])
