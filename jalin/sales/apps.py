from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "jalin.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self):
        from jalin.core.housekeeping import register_housekeeping

        from .opportunities import opportunities_alert_stale

        # Pipeline: stale-deal alerts to owners (once per stale spell); hourly is plenty.
        register_housekeeping("sales.opportunities_alert_stale", opportunities_alert_stale,
                              every_seconds=3600)
