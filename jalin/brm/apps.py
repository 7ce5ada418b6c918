from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BrmConfig(AppConfig):
    name = "jalin.brm"
    label = "brm"
    verbose_name = _("Business relationship management")

    def ready(self):
        from jalin.core.housekeeping import register_housekeeping

        from .reviews import schedule_due_reviews

        # Daily would do; hourly keeps a new profile's first review from waiting a day.
        register_housekeeping("brm.schedule_reviews", schedule_due_reviews,
                              every_seconds=3600)
