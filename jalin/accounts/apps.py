from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "jalin.accounts"
    label = "accounts"
    verbose_name = "Accounts and security"

    def ready(self):
        from . import signals  # noqa: F401
