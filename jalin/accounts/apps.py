from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "jalin.accounts"
    label = "accounts"
    verbose_name = "Accounts and security"

    def ready(self):
        from jalin.core.housekeeping import register_housekeeping

        from . import signals  # noqa: F401
        from .services import login_failures_purge

        register_housekeeping(
            "accounts.login_failures_purge", login_failures_purge, every_seconds=3600
        )
