"""The one access layer: every tenant read goes through `for_org`, every fetch by id through
`get_for_org_or_404`, which cannot tell "missing" from "someone else's" (both are 404).

A tenant model declares who owns it with one class attribute:

    tenant_owner = "organization"                 # a path to the owning Organization
    tenant_parties = ("buyer", "supplier")        # a hub document visible to two parties
    tenant_exempt = "why it belongs to nobody"    # rare; the system check reads it

`jalin.tenancy.checks` fails when a model in a Jalin app declares none of them.
"""

from django.db.models import Model, Q, QuerySet
from django.http import Http404


def owner_filter(model, organization) -> Q:
    owner = getattr(model, "tenant_owner", None)
    if owner:
        return Q(**{owner: organization})
    parties = getattr(model, "tenant_parties", None)
    if parties:
        q = Q()
        for party in parties:
            q |= Q(**{party: organization})
        return q
    raise TypeError(f"{model.__name__} declares no tenant owner")


def for_org(model_or_queryset, organization) -> QuerySet:
    """Rows of a tenant model that `organization` may see. None sees nothing."""
    if isinstance(model_or_queryset, QuerySet):
        queryset = model_or_queryset
    else:
        queryset = model_or_queryset._default_manager.all()
    if organization is None:
        return queryset.none()
    return queryset.filter(owner_filter(queryset.model, organization))


def get_for_org_or_404(model_or_queryset, organization, **lookup) -> Model:
    """Fetch one row by `lookup`; 404 whether it does not exist or belongs to another org."""
    queryset = for_org(model_or_queryset, organization)
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        # ValueError/TypeError: a malformed id ("abc" for an integer pk) is just "not found".
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from exc
