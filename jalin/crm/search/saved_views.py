"""Saved views: a named set of list filters (the list page's querystring, minus paging).

Private to their owner unless `shared`; only the owner deletes one. Services own their
transaction and write the audit log; the event carries `account_id`/`contact_id` None and
the view's name as `title`.
"""

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event

from ..models import SavedView
from ..services import CrmError

TARGETS = ("account", "contact")
ALLOWED_KEYS = {"q", "status", "tier", "owner", "tag", "role", "sort", "account"}
CUSTOM_PREFIX = "cf_"
MAX_KEYS = 30
MAX_VALUE = 200


def clean_query(query):
    """Only list filter keys with short string values; paging cursors are dropped."""
    if not isinstance(query, dict):
        raise CrmError(_("The filters must be an object of names and values."),
                       code="invalid_query", field="query")
    cleaned = {}
    for key, value in query.items():
        key = str(key)
        if key not in ALLOWED_KEYS and not (key.startswith(CUSTOM_PREFIX) and len(key) <= 60):
            continue
        if isinstance(value, (list, tuple)):
            value = value[0] if value else ""
        if value is None or isinstance(value, (dict, list)):
            continue
        value = str(value)[:MAX_VALUE]
        if value:
            cleaned[key] = value
    if len(cleaned) > MAX_KEYS:
        raise CrmError(_("Too many filters."), code="invalid_query", field="query")
    return cleaned


def visible_views(*, organization, user, target=None):
    """My views and the team's shared views, by name."""
    queryset = SavedView.objects.filter(organization=organization).filter(
        Q(owner=user) | Q(shared=True)).select_related("owner")
    if target:
        queryset = queryset.filter(target=target)
    return queryset.order_by("name", "id")


def saved_view_create(*, organization, actor, target, name, query, shared=False):
    if target not in TARGETS:
        raise CrmError(_("Views can be saved for the account and contact lists."),
                       code="invalid_target", field="target")
    name = " ".join(str(name or "").split())
    if not name or len(name) > 100:
        raise CrmError(_("Give the view a name of at most 100 characters."),
                       code="invalid_name", field="name")
    query = clean_query(query)
    with transaction.atomic():
        if SavedView.objects.filter(organization=organization, owner=actor, target=target,
                                    name=name).exists():
            raise CrmError(_("You already have a view with this name."),
                           code="duplicate_name", field="name")
        view = SavedView.objects.create(organization=organization, owner=actor,
                                        target=target, name=name, query=query,
                                        shared=bool(shared))
        after = {"target": target, "name": name, "query": query, "shared": view.shared}
        audit_record(actor=actor, organization=organization, action="crm.saved_view.created",
                     obj=view, after=after)
        emit_event(type="crm.saved_view.created", organization=organization, aggregate=view,
                   actor=actor, payload={**after, "account_id": None, "contact_id": None,
                                         "title": name[:120]})
    return view


def saved_view_delete(*, view, actor):
    if view.owner_id != actor.pk:
        raise CrmError(_("Only the person who saved a view can delete it."),
                       code="not_owner", field="view_id")
    with transaction.atomic():
        before = {"target": view.target, "name": view.name, "shared": view.shared}
        audit_record(actor=actor, organization=view.organization,
                     action="crm.saved_view.deleted", obj=view, before=before)
        emit_event(type="crm.saved_view.deleted", organization=view.organization,
                   aggregate=view, actor=actor,
                   payload={**before, "account_id": None, "contact_id": None,
                            "title": view.name[:120]})
        view.delete()
