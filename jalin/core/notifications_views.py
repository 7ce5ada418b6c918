"""The notifications page (the bell's target): newest first with keyset pages, mark one or
all read. Reads and writes only the signed-in user's own notifications in the active
organization."""

from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from jalin.core.params import int_param
from jalin.tenancy.decorators import org_required

from .models import Notification
from .notifications import mark_read
from .pagination import keyset_paginate

PER_PAGE = 30


def inbox(request):
    return Notification.objects.filter(user=request.user, organization=request.organization)


@org_required()
@require_GET
def notification_list(request):
    page = keyset_paginate(inbox(request), request.GET, per_page=PER_PAGE)
    return render(request, "core/notifications.html", {"page": page})


@org_required()
@require_POST
def notification_read(request):
    """POST id=<n> marks one; POST all=1 marks all. An unsafe `next` is ignored."""
    if request.POST.get("all"):
        mark_read(user=request.user, organization=request.organization)
    else:
        notification_id = int_param(request.POST.get("id"))
        if notification_id is not None:
            mark_read(user=request.user, organization=request.organization,
                      ids=[notification_id])
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect("core:notifications")
