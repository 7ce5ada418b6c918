from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .middleware import SESSION_KEY


@login_required
def no_organization(request):
    return render(request, "tenancy/no_organization.html")


@login_required
@require_POST
def switch_organization(request):
    wanted = request.POST.get("membership", "")
    for membership in request.all_memberships:
        if str(membership.pk) == wanted:
            request.session[SESSION_KEY] = membership.pk
            messages.success(request, _("You are now working in %s.") % membership.organization)
            break
    else:
        raise Http404
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "core:dashboard"
    return redirect(next_url)


def invitation_accept(request, token):
    raise Http404
