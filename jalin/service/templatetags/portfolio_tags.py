"""Labels for the raw status values stored in the portfolios' history rows."""

from django import template

from jalin.service.models import AgreementStatus, ServiceStatus

register = template.Library()

_AGREEMENT = dict(AgreementStatus.choices)
_SERVICE = dict(ServiceStatus.choices)


@register.filter
def agreement_status_label(value):
    return _AGREEMENT.get(value, value)


@register.filter
def service_status_label(value):
    return _SERVICE.get(value, value)
