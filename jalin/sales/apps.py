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
        self._ready_promos()

    def _ready_promos(self):
        from jalin.core.housekeeping import register_housekeeping

        from .segments import segments_refresh_due

        # Dynamic segments are refreshed hourly (each one at most once an hour); the refresh
        # also re-syncs the buyers of promotions that target a segment.
        register_housekeeping("sales.segments_refresh", segments_refresh_due,
                              every_seconds=600)
