from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "jalin.service"
    label = "service"
    verbose_name = _("Service management")

    def ready(self):
        from jalin.core.housekeeping import register_housekeeping

        from .cases import cases_auto_close

        # Resolved cases close by themselves after cases.AUTO_CLOSE_DAYS; hourly is plenty.
        register_housekeeping("service.cases_auto_close", cases_auto_close, every_seconds=3600)
        self._ready_agreement_portfolio()

    def _ready_agreement_portfolio(self):
        from jalin.core.housekeeping import register_housekeeping
        from jalin.core.storage import register_private_files

        from . import agreements

        # Review/renewal reminders (once per agreement × kind × date) and expiry.
        register_housekeeping("service.agreement_reminders", agreements.housekeeping_job,
                              every_seconds=3600)
        register_private_files(agreements.referenced_files)
