"""Search, saved views and bulk actions in templates: `{{ membership|can_search }}` decides
whether the header search box shows (it needs crm.view)."""

from django import template

from jalin.tenancy.roles import CRM_VIEW, has_perm

register = template.Library()


@register.filter
def can_search(membership):
    return has_perm(membership, CRM_VIEW)
