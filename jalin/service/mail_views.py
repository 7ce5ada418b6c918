"""Pages for support mailboxes (organization admins) and the HTTP endpoint for raw e-mail.

/service/mailboxes/                      list, recent e-mail, add a mailbox
/service/mailboxes/<id>/                 edit (the IMAP password is write-only)
/service/mailboxes/<id>/token/           POST: issue a new HTTP token (shown once)
/service/mailboxes/<id>/delete/          POST: remove
/service/mail/inbound/<id>/              POST raw RFC 5322 bytes, Authorization: Bearer <token>
"""

import json

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from jalin.core.params import int_param
from jalin.tenancy.access import for_org
from jalin.tenancy.decorators import org_required
from jalin.tenancy.roles import ORG_MANAGE
from jalin.tenancy.services import StaleVersion

from . import mailboxes as services
from .inbound_mail import MailTooLarge, mail_receive, max_bytes
from .mail_models import CaseEmail

RECENT = 25


def _values(post):
    values = {name: post.get(name, "") for name in services.FIELDS}
    values["default_team"] = post.get("default_team", "")
    values["imap_password"] = post.get("imap_password", "")
    values["imap_password_clear"] = bool(post.get("imap_password_clear"))
    for flag in services.FLAGS:
        values[flag] = bool(post.get(flag))
    return values


def _choices(organization):
    from .models import CaseKind, CasePriority, Team

    return {"kinds": CaseKind.choices, "priorities": CasePriority.choices,
            "teams": for_org(Team, organization).order_by("name")}


@org_required(ORG_MANAGE)
@require_http_methods(["GET", "POST"])
def mailboxes_page(request):
    error, status = None, 200
    values = {"default_kind": "question", "default_priority": "normal", "imap_ssl": True,
              "is_active": True, "send_acknowledgement": True, "imap_folder": "INBOX"}
    if request.method == "POST":
        values = _values(request.POST)
        try:
            mailbox = services.mailbox_create(organization=request.organization,
                                              actor=request.user, **values)
        except services.MailboxError as exc:
            error, status = exc, 422
        else:
            messages.success(request, _("Support mailbox %(address)s added.")
                             % {"address": mailbox.address})
            return redirect("service:mailboxes")
    recent = (for_org(CaseEmail, request.organization)
              .select_related("mailbox", "case").order_by("-id")[:RECENT])
    return render(request, "service/mailboxes.html", {
        "mailboxes": services.mailboxes_for(organization=request.organization),
        "recent": recent, "error": error, "values": values,
        **_choices(request.organization),
    }, status=status)


@org_required(ORG_MANAGE)
@require_http_methods(["GET", "POST"])
def mailbox_edit(request, pk):
    mailbox = services.mailbox_or_404(organization=request.organization, pk=pk)
    error, status = None, 200
    values = {**mailbox.__dict__, "default_team": mailbox.default_team_id}
    if request.method == "POST":
        values = _values(request.POST)
        try:
            services.mailbox_update(mailbox=mailbox, actor=request.user,
                                    version=int_param(request.POST.get("version")), **values)
        except StaleVersion as exc:
            mailbox.refresh_from_db()
            error, status = exc, 409
            values = {**mailbox.__dict__, "default_team": mailbox.default_team_id}
        except services.MailboxError as exc:
            error, status = exc, 422
            values["version"] = mailbox.version
        else:
            messages.success(request, _("Support mailbox saved."))
            return redirect("service:mailboxes")
    # Never echo a password back into the page.
    values.pop("imap_password", None)
    values.pop("imap_password_encrypted", None)
    return render(request, "service/mailbox_form.html", {
        "mailbox": mailbox, "values": values, "error": error,
        **_choices(request.organization),
    }, status=status)


@org_required(ORG_MANAGE)
@require_POST
def mailbox_token(request, pk):
    mailbox = services.mailbox_or_404(organization=request.organization, pk=pk)
    token = services.mailbox_issue_token(mailbox=mailbox, actor=request.user)
    endpoint = request.build_absolute_uri(f"/service/mail/inbound/{mailbox.pk}/")
    response = render(request, "service/mailbox_token.html", {
        "mailbox": mailbox, "token": token, "endpoint": endpoint,
    })
    response["Cache-Control"] = "no-store"
    return response


@org_required(ORG_MANAGE)
@require_POST
def mailbox_delete(request, pk):
    mailbox = services.mailbox_or_404(organization=request.organization, pk=pk)
    services.mailbox_delete(mailbox=mailbox, actor=request.user)
    messages.success(request, _("Support mailbox %(address)s removed.")
                     % {"address": mailbox.address})
    return redirect("service:mailboxes")


def _answer(status, outcome, detail="", **extra):
    return HttpResponse(json.dumps({"outcome": outcome, "detail": detail, **extra}),
                        status=status, content_type="application/json")


@csrf_exempt
@require_POST
def mail_inbound(request, pk):
    """Raw RFC 5322 message in the body (any content type, e.g. message/rfc822) with
    `Authorization: Bearer <mailbox token>`. 202 with what became of it; 401 for a missing or
    wrong token (or an unknown mailbox: indistinguishable), 413 over the size limit."""
    auth = request.headers.get("Authorization", "")
    scheme, _sep, token = auth.partition(" ")
    mailbox = services.mailbox_by_token(pk=pk, token=token.strip()) \
        if scheme.lower() == "bearer" else None
    if mailbox is None:
        response = _answer(401, "unauthorized", "Missing or wrong mailbox token.")
        response["WWW-Authenticate"] = 'Bearer realm="jalin-mail"'
        return response
    limit = max_bytes()
    if (int_param(request.META.get("CONTENT_LENGTH")) or 0) > limit:
        return _answer(413, "too_large", "The message is over the size limit.")
    raw = request.read(limit + 1)
    if not raw.strip():
        return _answer(400, "empty", "The body must be the raw e-mail message.")
    try:
        results = mail_receive(raw=raw, transport="http", mailbox=mailbox)
    except MailTooLarge:
        return _answer(413, "too_large", "The message is over the size limit.")
    result = results[0]
    return _answer(202, result.outcome, result.detail,
                   case=result.case.number if result.case is not None else None)
