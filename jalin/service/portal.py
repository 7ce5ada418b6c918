"""Links on `service:home`: the customer portal home (buyers) and the desk dashboard (staff).

Other modules add their sections here in their AppConfig.ready() instead of editing the
home page (the service app never imports them):

    from jalin.service.portal import PortalLink, register_portal_link

    register_portal_link(PortalLink(
        key="agreements", label=_("Agreements"), url_name="service:portal_agreements",
        description=_("Your contracts and service levels."),
        count=lambda organization, user: open_agreements(organization).count()))

`count` (optional) gets the acting organization and user and returns a number shown next to
the link (e.g. requirements awaiting your sign-off); it runs once per page view, so keep it to
one query. A link whose URL name does not resolve, or whose `perm` the member lacks, is left
out. `register_desk_link` does the same for the staff dashboard (SLA reports, surveys...).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from jalin.crm.models import Account
from jalin.hub import selectors as hub_selectors
from jalin.tenancy.models import Organization
from jalin.tenancy.roles import has_perm

from . import case_selectors as sel
from . import cases
from .cases import ServiceError
from .models import CaseChannel, ServiceStatus


@dataclass(frozen=True)
class PortalLink:
    key: str
    label: object
    url_name: str
    description: object = ""
    perm: str | None = None
    count: Callable | None = None
    order: int = 100


_portal: dict[str, PortalLink] = {}
_desk: dict[str, PortalLink] = {}


def _register(registry, link):
    existing = registry.get(link.key)
    if existing is not None and existing != link:
        raise ValueError(f"A service home link named {link.key!r} is already registered.")
    registry[link.key] = link
    return link


def register_portal_link(link):
    """A section of the buyer portal home (agreements, reviews, sign-offs, surveys)."""
    return _register(_portal, link)


def register_desk_link(link):
    """A section of the staff desk dashboard (SLA reports, surveys, calendars, ...)."""
    return _register(_desk, link)


@dataclass
class ShownLink:
    key: str
    label: str
    url: str
    description: str
    count: int | None


def _shown(registry, *, membership, user):
    shown = []
    for link in sorted(registry.values(), key=lambda item: (item.order, item.key)):
        if link.perm and not has_perm(membership, link.perm):
            continue
        try:
            url = reverse(link.url_name)
        except NoReverseMatch:
            continue
        count = link.count(membership.organization, user) if link.count else None
        shown.append(ShownLink(key=link.key, label=str(link.label), url=url,
                               description=str(link.description or ""), count=count))
    return shown


def portal_links(*, membership, user):
    return _shown(_portal, membership=membership, user=user)


def desk_links(*, membership, user):
    return _shown(_desk, membership=membership, user=user)


# --- Cases from the customer's side -------------------------------------------------------


def supplier_choices(buyer):
    """Suppliers the buyer may open cases with: those it trades with on the hub and those
    that keep a CRM account linked to it."""
    trading = {rel.supplier_id: rel.supplier
               for rel in hub_selectors.suppliers_for_buyer(buyer=buyer)}
    linked_ids = set(Account.objects.filter(hub_organization=buyer, archived_at__isnull=True)
                     .values_list("organization_id", flat=True)) - set(trading)
    linked = Organization.objects.filter(pk__in=linked_ids, is_supplier=True)
    choices = list(trading.values()) + list(linked)
    return sorted(choices, key=lambda org: (org.name.lower(), org.pk))


def portal_open_case(*, buyer, supplier, user, subject, kind, description, order=None,
                     service=None, channel=CaseChannel.PORTAL):
    """Open a case from the customer's side (portal or API): against a supplier the buyer
    may write to, on the supplier's account linked to the buyer (when there is one)."""
    if supplier is None or supplier.pk not in {org.pk for org in supplier_choices(buyer)}:
        raise ServiceError(_("Choose a supplier you trade with."), code="not_found",
                           field="supplier")
    if order is not None and (order.buyer_id != buyer.pk or order.supplier_id != supplier.pk):
        raise ServiceError(_("No such order."), code="not_found", field="order")
    if service is not None and (service.organization_id != supplier.pk
                                or service.status not in (ServiceStatus.LIVE,
                                                          ServiceStatus.PENDING_RETIREMENT)):
        raise ServiceError(_("No such service."), code="not_found", field="service")
    account = sel.account_for_buyer(organization=supplier, buyer=buyer)
    return cases.case_open(
        organization=supplier, subject=subject, kind=kind, channel=channel,
        description=description, actor=user, account=account,
        buyer=buyer if account is None else None, requester=user,
        requester_email=getattr(user, "email", "") or "", order=order, service=service)
