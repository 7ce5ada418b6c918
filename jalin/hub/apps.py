from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HubConfig(AppConfig):
    name = "jalin.hub"
    label = "hub"
    verbose_name = _("B2B hub")

    def ready(self):
        from jalin.core.housekeeping import register_housekeeping
        from jalin.core.storage import register_private_files

        from .housekeeping import catalog_imports_expire, referenced_files

        register_private_files(referenced_files)
        register_housekeeping("hub.catalog_imports_expire", catalog_imports_expire,
                              every_seconds=3600)

        from .rfqs import expire_due_quotes

        # Sent quotes past their validity date expire; hourly is plenty for calendar days.
        register_housekeeping("hub.quotes_expire", expire_due_quotes, every_seconds=3600)

        from . import checks  # noqa: F401 - registers the deploy checks
        from .payment_providers import checkout_expire, webhook_deliveries_purge
        from .payments import send_overdue_reminders

        register_housekeeping("hub.overdue_reminders", send_overdue_reminders,
                              every_seconds=3600)
        register_housekeeping("hub.checkouts_expire", checkout_expire, every_seconds=300)
        register_housekeeping("hub.webhook_log_purge", webhook_deliveries_purge,
                              every_seconds=24 * 3600)

        from .panels import register as register_panels

        # Orders and invoices of the linked buyer on the CRM account page (no CRM import).
        register_panels()
