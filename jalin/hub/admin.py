"""Operator views of the hub (read-only)."""

from django.contrib import admin

from jalin.core.admin import ReadOnlyAdmin

from .models import WebhookDelivery


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """Every payment-provider webhook request: when, which event, what we answered."""

    list_display = ("received_at", "provider", "event_id", "status_code", "outcome", "detail",
                    "supplier", "remote_addr")
    list_filter = ("provider", "status_code", "outcome")
    search_fields = ("event_id",)
    list_select_related = ("supplier",)
    show_full_result_count = False
