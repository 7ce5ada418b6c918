"""Deployment checks of the hub (`jalin check --deploy`)."""

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def check_payment_providers(app_configs=None, **kwargs):
    from .payment_providers import DEV_TEST_SECRET

    if not getattr(settings, "PRODUCTION", False):
        return []
    warnings = []
    providers = getattr(settings, "JALIN_PAYMENT_PROVIDERS", None) or []
    if "test" in providers:
        warnings.append(checks.Warning(
            "The test payment provider is enabled in production.",
            hint="Anyone who can open an invoice could mark it paid without real money. "
                 "Remove 'test' from JALIN_PAYMENT_PROVIDERS.",
            id="jalin.W101"))
        secret = getattr(settings, "JALIN_PAYMENT_TEST_SECRET", "")
        if not secret or secret == DEV_TEST_SECRET:
            warnings.append(checks.Warning(
                "The test payment provider's webhook secret is the development default.",
                hint="Set JALIN_PAYMENT_TEST_SECRET to a long random value.",
                id="jalin.W102"))
    return warnings
