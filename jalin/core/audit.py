"""`audit_record` is how services write the audit log, inside their own transaction."""

from django.forms.models import model_to_dict

from .models import AuditLog
from .request_context import current_request_id


def snapshot(instance, *, fields=None):
    """A JSON-able dict of a model's concrete fields (for before/after)."""
    if instance is None:
        return None
    data = model_to_dict(instance, fields=fields)
    return {key: (str(value) if hasattr(value, "pk") else value) for key, value in data.items()}


def audit_record(*, actor, organization, action, obj=None, before=None, after=None,
                 object_type="", object_id="", object_repr="", ip_address=None):
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    actor_obj = actor if getattr(actor, "is_authenticated", False) else None
    return AuditLog.objects.create(
        organization=organization,
        actor=actor_obj,
        actor_label=(actor_obj.get_username() if actor_obj else "system")[:200],
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_repr=object_repr[:200],
        before=before,
        after=after,
        request_id=current_request_id(),
        ip_address=ip_address,
    )
