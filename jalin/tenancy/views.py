"""Organization pages: members, invitations, settings, audit log, and switching organization.

Views stay thin: they read through `for_org` / `get_for_org_or_404`, write through
`jalin.tenancy.services`, and turn a `TenancyError` into a form error or a flash message with
a 4xx status (nothing changed). htmx requests get the changed fragment; everything also works
as a plain form post.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.models import AuditLog
from jalin.core.pagination import keyset_paginate

from . import services
from .access import for_org, get_for_org_or_404
from .decorators import org_required
from .forms import (
    AuditFilterForm,
    InvitationForm,
    InvitationSignupForm,
    MemberRoleForm,
    OrganizationSettingsForm,
    add_tenancy_error,
)
from .middleware import SESSION_KEY
from .models import Invitation, Membership, Organization
from .roles import AUDIT_VIEW, MEMBERS_MANAGE, MEMBERS_VIEW, ORG_MANAGE, Role, has_perm
from .selectors import members_for_org

MEMBERS_PER_PAGE = 50
AUDIT_PER_PAGE = 50
PENDING_INVITATIONS_SHOWN = 100


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
            messages.success(
                request, _("You are now working in %s.") % membership.organization.name
            )
            break
    else:
        raise Http404
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "core:dashboard"
    return redirect(next_url)


# --- Members -------------------------------------------------------------------------------


def _member_row(request, membership, *, form=None, status=200, notice=""):
    return render(request, "tenancy/_member_row.html", {
        "membership": membership,
        "can_manage": True,
        "role_form": form,
        "role_choices": Role.choices,
        "notice": notice,
    }, status=status)


@org_required(MEMBERS_VIEW)
@require_GET
def members(request):
    return _members_page(request)


def _members_page(request, *, invite_form=None, status=200):
    organization = request.organization
    can_manage = has_perm(request.membership, MEMBERS_MANAGE)
    page = keyset_paginate(
        members_for_org(organization=organization), request.GET, per_page=MEMBERS_PER_PAGE
    )
    invitations = []
    if can_manage:
        invitations = list(
            Invitation.objects.for_org(organization).pending()
            .select_related("invited_by").order_by("-created_at")[:PENDING_INVITATIONS_SHOWN]
        )
    return render(request, "tenancy/members.html", {
        "page": page,
        "can_manage": can_manage,
        "role_choices": Role.choices,
        "invitations": invitations,
        "invite_form": (invite_form or InvitationForm()) if can_manage else None,
    }, status=status)


@org_required(MEMBERS_MANAGE)
@require_POST
def member_change_role(request, pk):
    membership = get_for_org_or_404(
        Membership.objects.active().select_related("user"), request.organization, pk=pk
    )
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        try:
            membership = services.membership_change_role(
                membership=membership, role=form.cleaned_data["role"], actor=request.user
            )
        except services.TenancyError as error:
            add_tenancy_error(form, error)
    if form.errors:
        if request.htmx:
            return _member_row(request, membership, form=form, status=400)
        messages.error(request, " ".join(_flatten_errors(form)))
        return _members_page(request, status=400)
    notice = _("Role of %(user)s is now %(role)s.") % {
        "user": membership.user.get_username(), "role": membership.get_role_display(),
    }
    if request.htmx:
        return _member_row(request, membership, notice=notice)
    messages.success(request, notice)
    return redirect("tenancy:members")


@org_required(MEMBERS_MANAGE)
@require_POST
def member_remove(request, pk):
    membership = get_for_org_or_404(
        Membership.objects.active().select_related("user"), request.organization, pk=pk
    )
    try:
        services.membership_remove(membership=membership, actor=request.user)
    except services.TenancyError as error:
        if request.htmx:
            return _member_row(request, membership, status=400, notice=error.message)
        messages.error(request, error.message)
        return _members_page(request, status=400)
    notice = _("%(user)s was removed from the organization.") % {
        "user": membership.user.get_username()
    }
    if request.htmx:
        return HttpResponse("")  # The row disappears.
    messages.success(request, notice)
    return redirect("tenancy:members")


def _flatten_errors(form):
    return [str(message) for errors in form.errors.values() for message in errors]


# --- Invitations ---------------------------------------------------------------------------


@org_required(MEMBERS_MANAGE)
@require_POST
def invitation_create(request):
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation, _token = services.invitation_create(
                organization=request.organization,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
                actor=request.user,
                base_url=request.build_absolute_uri("/").rstrip("/"),
            )
        except services.TenancyError as error:
            add_tenancy_error(form, error)
        else:
            messages.success(request, _("Invitation sent to %s.") % invitation.email)
            return redirect("tenancy:members")
    return _members_page(request, invite_form=form, status=400)


@org_required(MEMBERS_MANAGE)
@require_POST
def invitation_revoke(request, pk):
    invitation = get_for_org_or_404(Invitation, request.organization, pk=pk)
    try:
        invitation = services.invitation_revoke(invitation=invitation, actor=request.user)
    except services.TenancyError as error:
        if request.htmx:
            return render(request, "tenancy/_invitation_row.html",
                          {"invitation": invitation, "notice": error.message}, status=400)
        messages.error(request, error.message)
        return _members_page(request, status=400)
    if request.htmx:
        return render(request, "tenancy/_invitation_row.html", {
            "invitation": invitation,
            "notice": _("Invitation revoked."),
        })
    messages.success(request, _("Invitation to %s revoked.") % invitation.email)
    return redirect("tenancy:members")


@require_http_methods(["GET", "POST"])
def invitation_accept(request, token):
    """The emailed link: a signed-in person joins; a new person creates an account first."""
    invitation = services.invitation_lookup(token=token)
    if invitation is None:
        return render(request, "tenancy/invitation_invalid.html", status=404)
    signed_in = request.user.is_authenticated
    form = None if signed_in else InvitationSignupForm(
        request.POST or None, email=invitation.email
    )
    status = 200
    if request.method == "POST":
        if signed_in or form.is_valid():
            try:
                if signed_in:
                    membership = services.invitation_accept(token=token, user=request.user)
                else:
                    membership = services.invitation_accept(
                        token=token,
                        username=form.cleaned_data["username"],
                        password=form.cleaned_data["password1"],
                    )
            except services.TenancyError as error:
                if form is None:
                    messages.error(request, error.message)
                    return render(request, "tenancy/invitation_invalid.html", status=400)
                add_tenancy_error(form, error)
            else:
                if not signed_in:
                    login(request, membership.user, backend=settings.AUTHENTICATION_BACKENDS[0])
                request.session[SESSION_KEY] = membership.pk
                messages.success(request, _("Welcome to %s.") % membership.organization.name)
                return redirect("core:dashboard")
        status = 400
    return render(request, "tenancy/invitation_accept.html", {
        "invitation": invitation,
        "form": form,
        "token": token,
    }, status=status)


# --- Organization settings -----------------------------------------------------------------


@org_required(ORG_MANAGE)
@require_http_methods(["GET", "POST"])
def organization_settings(request):
    # A private copy: a rejected form must not leak unsaved values into the page header.
    organization = Organization.objects.get(pk=request.organization.pk)
    status = 200
    if request.method == "POST":
        form = OrganizationSettingsForm(request.POST, instance=organization)
        if form.is_valid():
            try:
                services.organization_update(
                    organization=organization, actor=request.user,
                    version=form.cleaned_data["version"], **form.changes(),
                )
            except services.StaleVersion as error:
                form.add_error(None, error.message)
                status = 409
            except services.TenancyError as error:
                add_tenancy_error(form, error)
                status = 400
            except ValidationError as error:
                form.add_error(None, error)
                status = 400
            else:
                messages.success(request, _("Organization settings saved."))
                return redirect("tenancy:settings")
        else:
            status = 400
    else:
        form = OrganizationSettingsForm(
            instance=organization, initial={"version": organization.version}
        )
    return render(request, "tenancy/settings.html", {"form": form}, status=status)


# --- Audit log -----------------------------------------------------------------------------


@org_required(AUDIT_VIEW)
@require_GET
def audit_log(request):
    form = AuditFilterForm(request.GET)
    entries = for_org(AuditLog, request.organization)
    if form.is_valid():
        if form.cleaned_data["action"]:
            entries = entries.filter(action__startswith=form.cleaned_data["action"])
        if form.cleaned_data["object_type"]:
            entries = entries.filter(object_type=form.cleaned_data["object_type"])
    page = keyset_paginate(entries, request.GET, per_page=AUDIT_PER_PAGE)
    return render(request, "tenancy/audit_log.html", {
        "page": page,
        "filter_form": form,
        "is_filtered": form.is_valid() and any(form.cleaned_data.values()),
    })
