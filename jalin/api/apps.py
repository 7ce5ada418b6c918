from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "jalin.api"
    label = "api"
    verbose_name = "JSON API"

    def ready(self):
        from jalin.core.housekeeping import register_housekeeping

        from .idempotency import idempotency_records_purge

        register_housekeeping(
            "api.idempotency_records_purge", idempotency_records_purge, every_seconds=3600
        )
