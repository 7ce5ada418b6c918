"""Desk settings pages: canned replies (shared by the organization) and teams."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jalin.core.params import int_param
from jalin.tenancy.access import get_for_org_or_404
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import SERVICE_EDIT, SERVICE_VIEW, has_perm
from jalin.tenancy.services import StaleVersion

from . import case_selectors as sel
from . import desk
from .case_views import staff_only
from .cases import ServiceError
from .models import CannedReply, Team

# --- Canned replies ------------------------------------------------------------------------


@org_required(SERVICE_VIEW)
@require_GET
def canned_list(request):
    staff_only(request)
    return render(request, "service/canned_replies.html", {
        "replies": list(sel.canned_replies_for(organization=request.organization)),
        "placeholders": desk.PLACEHOLDERS,
        "can_edit": has_perm(request.membership, SERVICE_EDIT),
    })


@org_required(SERVICE_EDIT)
@require_http_methods(["GET", "POST"])
def canned_form(request, pk=None):
    staff_only(request)
    reply = None
    if pk is not None:
        reply = get_for_org_or_404(CannedReply, request.organization, pk=pk)
    data = request.POST if request.method == "POST" else {
        "title": reply.title if reply else "", "body": reply.body if reply else ""}
    errors, status = {}, 200
    if request.method == "POST":
        try:
            if reply is None:
                desk.canned_reply_create(organization=request.organization, actor=request.user,
                                         title=data.get("title", ""), body=data.get("body", ""))
            else:
                desk.canned_reply_update(reply=reply, actor=request.user,
                                         title=data.get("title", ""), body=data.get("body", ""),
                                         version=int_param(data.get("version"), positive=True))
        except StaleVersion as exc:
            errors["form"], status = exc.message, 409
        except ServiceError as exc:
            errors[exc.field or "form"], status = exc.message, 400
        else:
            messages.success(request, _("Canned reply saved."))
            return redirect("service:canned_replies")
    return render(request, "service/canned_reply_form.html", {
        "reply": reply, "data": data, "errors": errors, "placeholders": desk.PLACEHOLDERS,
    }, status=status)


@org_required(SERVICE_EDIT)
@require_POST
def canned_delete(request, pk):
    staff_only(request)
    reply = get_for_org_or_404(CannedReply, request.organization, pk=pk)
    desk.canned_reply_delete(reply=reply, actor=request.user)
    messages.success(request, _("Canned reply deleted."))
    return redirect("service:canned_replies")


# --- Teams ---------------------------------------------------------------------------------


@org_required(SERVICE_VIEW)
@require_GET
def team_list(request):
    staff_only(request)
    teams = list(sel.teams_for(organization=request.organization, include_archived=True)
                 .prefetch_related("members"))
    return render(request, "service/teams.html", {
        "teams": teams, "can_edit": has_perm(request.membership, SERVICE_EDIT)})


@org_required(SERVICE_EDIT)
@require_http_methods(["GET", "POST"])
def team_form(request, pk=None):
    staff_only(request)
    organization = request.organization
    team = get_for_org_or_404(Team, organization, pk=pk) if pk is not None else None
    agents = sel.agents_for(organization=organization)
    errors, status = {}, 200
    if request.method == "POST":
        name = request.POST.get("name", "")
        member_ids = [int_param(value, positive=True) for value in request.POST.getlist("members")]
        selected = set(member_ids)
        try:
            if None in selected:
                raise ServiceError(_("No such member."), code="not_found", field="members")
            if team is None:
                desk.team_create(organization=organization, actor=request.user, name=name,
                                 members=member_ids)
            else:
                desk.team_update(team=team, actor=request.user, name=name, members=member_ids,
                                 archived=bool(request.POST.get("archived")))
        except ServiceError as exc:
            errors[exc.field or "form"], status = exc.message, 400
        else:
            messages.success(request, _("Team saved."))
            return redirect("service:teams")
    else:
        name = team.name if team else ""
        selected = set(team.members.values_list("pk", flat=True)) if team else set()
    return render(request, "service/team_form.html", {
        "team": team, "name": name, "selected": selected, "agents": agents, "errors": errors,
        "archived": bool(team and team.archived_at),
    }, status=status)
