from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "jalin.tenancy"
    label = "tenancy"
    verbose_name = "Organizations and memberships"

    def ready(self):
        from . import checks  # noqa: F401
