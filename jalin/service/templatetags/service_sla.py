"""Template helpers of the SLA pages."""

from django import template

register = template.Library()


@register.filter
def lookup(mapping, key):
    """mapping[key] or "" (form values keyed by a computed field name)."""
    try:
        value = mapping.get(key, "")
    except AttributeError:
        return ""
    return "" if value is None else value
