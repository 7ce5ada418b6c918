"""Pages for a buyer's delivery/billing addresses (see jalin/hub/addresses.py).

Members who may place orders see the list; organization admins (`org.manage`) add, edit,
archive and choose the defaults. Another organization's address is 404.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from jalin.core.pagination import keyset_paginate
from jalin.core.params import int_param
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import ORDERS_PLACE, ORG_MANAGE, has_perm
from jalin.tenancy.services import StaleVersion

from . import addresses
from .services import HubError

PER_PAGE = 50


def _fields(post):
    fields = {name: post.get(name, "") for name in addresses.FIELDS}
    for flag in addresses.FLAGS:
        if post.get(flag):
            fields[flag] = True
    return fields


@org_required(ORDERS_PLACE)
@require_http_methods(["GET", "POST"])
def addresses_page(request):
    """The organization's addresses; admins add a new one here."""
    can_manage = has_perm(request.membership, ORG_MANAGE)
    error, status = None, 200
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied
        try:
            address = addresses.address_create(buyer=request.organization, actor=request.user,
                                               **_fields(request.POST))
        except HubError as exc:
            error, status = exc, 422
        else:
            messages.success(request, _("Address “%(label)s” added.") % {"label": address.label})
            return redirect("hub:addresses")
    archived = request.GET.get("archived") == "1"
    queryset = addresses.addresses_for(buyer=request.organization, include_archived=archived)
    return render(request, "hub/addresses.html", {
        "page": keyset_paginate(queryset, request.GET, per_page=PER_PAGE),
        "archived": archived, "is_filtered": archived, "can_manage": can_manage,
        "error": error, "values": request.POST if error else {"country": "ID"},
    }, status=status)


@org_required(ORG_MANAGE)
@require_http_methods(["GET", "POST"])
def address_edit(request, pk):
    address = addresses.address_or_404(buyer=request.organization, pk=pk)
    error, status, values = None, 200, address.__dict__
    if request.method == "POST":
        values = request.POST
        try:
            changes = _fields(request.POST)
            address = addresses.address_update(address=address, actor=request.user,
                                               version=int_param(request.POST.get("version")),
                                               **changes)
        except StaleVersion as exc:  # show what is saved now
            error, status = exc, 409
            address.refresh_from_db()
            values = address.__dict__
        except HubError as exc:
            error, status = exc, 422
        else:
            messages.success(request, _("Address saved."))
            return redirect("hub:addresses")
    return render(request, "hub/address_form.html", {
        "address": address, "values": values, "error": error,
    }, status=status)


@org_required(ORG_MANAGE)
@require_POST
def address_archive(request, pk):
    address = addresses.address_or_404(buyer=request.organization, pk=pk)
    addresses.address_archive(address=address, actor=request.user)
    messages.success(request, _("Address “%(label)s” archived.") % {"label": address.label})
    return redirect("hub:addresses")


@org_required(ORG_MANAGE)
@require_POST
def address_default(request, pk):
    address = addresses.address_or_404(buyer=request.organization, pk=pk)
    try:
        addresses.address_set_default(address=address, actor=request.user,
                                      kind=request.POST.get("kind", ""))
    except HubError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Default address changed."))
    return redirect("hub:addresses")
