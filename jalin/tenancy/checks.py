"""System check: every model in a Jalin app must say who owns it (see access.py)."""

from django.apps import apps
from django.core import checks
from django.core.exceptions import FieldDoesNotExist

OWNER_DECLARATIONS = ("tenant_owner", "tenant_parties", "tenant_exempt")


def _resolve_path(model, path):
    """Follow a `a__b__c` path of relations; return the model it ends on, or None."""
    current = model
    for part in path.split("__"):
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return None
        if not field.is_relation or field.related_model is None:
            return None
        current = field.related_model
    return current


@checks.register(checks.Tags.security)
def check_tenant_owners(app_configs=None, **kwargs):
    from .models import Organization

    errors = []
    configs = app_configs or apps.get_app_configs()
    for config in configs:
        if not config.name.startswith("jalin."):
            continue
        for model in config.get_models():
            if model._meta.abstract or model._meta.proxy:
                continue
            declared = [name for name in OWNER_DECLARATIONS if getattr(model, name, None)]
            label = model._meta.label
            if not declared:
                errors.append(
                    checks.Error(
                        f"{label} has no tenant owner.",
                        hint="Set tenant_owner = '<path to Organization>', tenant_parties = "
                        "(...), or tenant_exempt = '<why>' on the model.",
                        obj=model,
                        id="jalin.E001",
                    )
                )
                continue
            paths = []
            if getattr(model, "tenant_owner", None):
                paths.append(model.tenant_owner)
            paths.extend(getattr(model, "tenant_parties", None) or ())
            for path in paths:
                if _resolve_path(model, path) is not Organization:
                    errors.append(
                        checks.Error(
                            f"{label}: tenant path '{path}' does not lead to Organization.",
                            obj=model,
                            id="jalin.E002",
                        )
                    )
    return errors
