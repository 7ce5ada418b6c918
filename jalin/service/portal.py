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

from jalin.tenancy.roles import has_perm


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
