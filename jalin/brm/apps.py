from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BrmConfig(AppConfig):
    name = "jalin.brm"
    label = "brm"
    verbose_name = _("Business relationship management")
