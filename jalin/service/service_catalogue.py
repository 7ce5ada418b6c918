"""Service portfolio: the services an organization plans, offers and has retired.

Lifecycle (`TRANSITIONS`)::

    draft → under evaluation → approved → design → live → pending retirement → retired
      (any state before live) → cancelled;  under evaluation → draft (sent back);
      pending retirement → live (retirement called off)

Sections of the portfolio: pipeline (draft … design), catalogue (live, pending retirement),
retired (retired, cancelled). Every change is a `ServiceStatusChange` row (who, from, to,
when, comment), an audit row and a `service.service.status_changed` event. Entering "live"
sets `live_since` (first time only); entering "retired" or "cancelled" sets `retired_on`.

Customers using a service are `ServiceSubscription` rows (account, since, until). Ending a
subscription keeps the row (`ended_on`); subscribing again reopens it.

Writes need `service.edit`; the views and the API check it before calling these services.
"""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record, snapshot
from jalin.core.events import emit_event
from jalin.tenancy.services import StaleVersion, TenancyError

from .models import (
    SERVICE_CATALOGUE,
    SERVICE_PIPELINE,
    SERVICE_RETIRED,
    ItilStage,
    Service,
    ServiceStatus,
    ServiceStatusChange,
    ServiceSubscription,
)

S = ServiceStatus


class PortfolioError(TenancyError):
    """A service/agreement portfolio request that cannot be carried out; message for users."""


TRANSITIONS = {
    S.DRAFT: (S.UNDER_EVALUATION, S.CANCELLED),
    S.UNDER_EVALUATION: (S.APPROVED, S.DRAFT, S.CANCELLED),
    S.APPROVED: (S.DESIGN, S.CANCELLED),
    S.DESIGN: (S.LIVE, S.CANCELLED),
    S.LIVE: (S.PENDING_RETIREMENT,),
    S.PENDING_RETIREMENT: (S.RETIRED, S.LIVE),
    S.RETIRED: (),
    S.CANCELLED: (),
}

SECTIONS = {"pipeline": SERVICE_PIPELINE, "catalogue": SERVICE_CATALOGUE,
            "retired": SERVICE_RETIRED}

EDITABLE = ("code", "name", "description", "category", "utility", "warranty", "stage", "owner")


def section_of(status):
    for name, statuses in SECTIONS.items():
        if status in statuses:
            return name
    return "pipeline"


def allowed_targets(service):
    return list(TRANSITIONS.get(service.status, ()))


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _payload(service):
    return {"service_id": service.pk, "code": service.code, "status": service.status,
            "stage": service.stage}


def _clean(organization, changes, *, creating):
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise PortfolioError(_("Unknown fields: %s") % ", ".join(sorted(unknown)),
                             code="unknown")
    cleaned = dict(changes)
    for field in ("code", "name", "description", "category", "utility", "warranty"):
        if field in cleaned:
            cleaned[field] = (cleaned[field] or "").strip()
    if "code" in cleaned or creating:
        code = cleaned.get("code", "")
        if not code:
            raise PortfolioError(_("Enter a code."), code="required", field="code")
        if len(code) > 30:
            raise PortfolioError(_("The code may have at most 30 characters."),
                                 code="too_long", field="code")
    if "name" in cleaned or creating:
        name = cleaned.get("name", "")
        if not name:
            raise PortfolioError(_("Enter a name."), code="required", field="name")
        if len(name) > 200:
            raise PortfolioError(_("The name may have at most 200 characters."),
                                 code="too_long", field="name")
    if len(cleaned.get("category", "")) > 100:
        raise PortfolioError(_("The category may have at most 100 characters."),
                             code="too_long", field="category")
    if "stage" in cleaned and cleaned["stage"] not in ItilStage.values:
        raise PortfolioError(_("Choose an ITIL stage."), code="invalid", field="stage")
    owner = cleaned.get("owner")
    if owner is not None and not owner.memberships.filter(organization=organization,
                                                          is_active=True).exists():
        raise PortfolioError(_("The owner must be a member of your organization."),
                             code="not_found", field="owner")
    return cleaned


def service_create(*, organization, actor, code, name, description="", category="",
                   utility="", warranty="", stage=ItilStage.STRATEGY, owner=None, now=None):
    now = now or timezone.now()
    fields = _clean(organization, {
        "code": code, "name": name, "description": description, "category": category,
        "utility": utility, "warranty": warranty, "stage": stage, "owner": owner,
    }, creating=True)
    with transaction.atomic():
        if Service.objects.filter(organization=organization, code=fields["code"]).exists():
            raise PortfolioError(_("A service with this code already exists."),
                                 code="duplicate", field="code")
        try:
            with transaction.atomic():
                service = Service.objects.create(organization=organization, created_at=now,
                                                 updated_at=now, **fields)
        except IntegrityError as exc:
            raise PortfolioError(_("A service with this code already exists."),
                                 code="duplicate", field="code") from exc
        ServiceStatusChange.objects.create(service=service, from_status="",
                                           to_status=service.status, changed_by=_user(actor),
                                           changed_at=now, comment="")
        audit_record(actor=actor, organization=organization, action="service.service.created",
                     obj=service, after=snapshot(service, fields=list(EDITABLE) + ["status"]))
        emit_event(type="service.service.created", organization=organization,
                   aggregate=service, actor=actor, payload=_payload(service))
    return service


def service_update(*, service, actor, version, now=None, **changes):
    fields = _clean(service.organization, changes, creating=False)
    with transaction.atomic():
        locked = Service.objects.select_for_update().get(pk=service.pk)
        if locked.version != version:
            raise StaleVersion()
        if "code" in fields and fields["code"] != locked.code and Service.objects.filter(
                organization_id=locked.organization_id, code=fields["code"]).exists():
            raise PortfolioError(_("A service with this code already exists."),
                                 code="duplicate", field="code")
        before = snapshot(locked, fields=list(EDITABLE))
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.updated_at = now or timezone.now()
        locked.version += 1
        locked.save()
        audit_record(actor=actor, organization=locked.organization,
                     action="service.service.updated", obj=locked, before=before,
                     after=snapshot(locked, fields=list(EDITABLE)))
        emit_event(type="service.service.updated", organization=locked.organization,
                   aggregate=locked, actor=actor, payload=_payload(locked))
    return locked


def service_transition(*, service, to_status, actor, comment="", version=None, now=None):
    """Move a service along its lifecycle; a move not in TRANSITIONS changes nothing."""
    now = now or timezone.now()
    if to_status not in S.values:
        raise PortfolioError(_("Unknown status."), code="invalid", field="to_status")
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise PortfolioError(_("The comment may have at most 2000 characters."),
                             code="too_long", field="comment")
    with transaction.atomic():
        locked = Service.objects.select_for_update().get(pk=service.pk)
        if version is not None and locked.version != version:
            raise StaleVersion()
        if to_status not in TRANSITIONS[locked.status]:
            raise PortfolioError(
                _("A service cannot move from %(from)s to %(to)s.") % {
                    "from": S(locked.status).label, "to": S(to_status).label},
                code="invalid_transition", field="to_status")
        from_status = locked.status
        locked.status = to_status
        today = timezone.localdate(now)
        if to_status == S.LIVE:
            locked.live_since = locked.live_since or today
            locked.retired_on = None
        if to_status in SERVICE_RETIRED:
            locked.retired_on = today
        locked.updated_at = now
        locked.version += 1
        locked.save()
        ServiceStatusChange.objects.create(service=locked, from_status=from_status,
                                           to_status=to_status, changed_by=_user(actor),
                                           comment=comment, changed_at=now)
        audit_record(actor=actor, organization=locked.organization,
                     action="service.service.status_changed", obj=locked,
                     before={"status": from_status},
                     after={"status": to_status, "comment": comment[:200]})
        emit_event(type="service.service.status_changed", organization=locked.organization,
                   aggregate=locked, actor=actor,
                   payload={**_payload(locked), "from_status": from_status})
    return locked


# --- Subscriptions (customers using a service) ---------------------------------------------


def subscription_add(*, service, account, actor, started_on=None, agreement=None, now=None):
    """The account uses the service from `started_on` (today). Only services in the catalogue
    (live or pending retirement) take new customers; a subscription that ended is reopened."""
    now = now or timezone.now()
    started_on = started_on or timezone.localdate(now)
    if account.organization_id != service.organization_id:
        raise PortfolioError(_("No such customer."), code="not_found", field="account")
    if agreement is not None and agreement.organization_id != service.organization_id:
        raise PortfolioError(_("No such agreement."), code="not_found", field="agreement")
    if service.status not in SERVICE_CATALOGUE:
        raise PortfolioError(_("Only live services can be subscribed to."),
                             code="not_live", field="service")
    with transaction.atomic():
        Service.objects.select_for_update().get(pk=service.pk)
        subscription = ServiceSubscription.objects.filter(service=service,
                                                          account=account).first()
        if subscription is not None and subscription.ended_on is None:
            raise PortfolioError(_("This customer already uses the service."),
                                 code="duplicate", field="account")
        if subscription is None:
            subscription = ServiceSubscription.objects.create(
                organization_id=service.organization_id, service=service, account=account,
                agreement=agreement, started_on=started_on)
        else:
            subscription.started_on = started_on
            subscription.ended_on = None
            subscription.agreement = agreement
            subscription.save(update_fields=["started_on", "ended_on", "agreement"])
        audit_record(actor=actor, organization=service.organization,
                     action="service.subscription.started", obj=subscription,
                     after={"service_id": service.pk, "account_id": account.pk,
                            "started_on": started_on.isoformat()})
        emit_event(type="service.subscription.started", organization=service.organization,
                   aggregate=subscription, actor=actor,
                   payload={"subscription_id": subscription.pk, "service_id": service.pk,
                            "account_id": account.pk})
    return subscription


def subscription_end(*, subscription, actor, ended_on=None, now=None):
    now = now or timezone.now()
    ended_on = ended_on or timezone.localdate(now)
    with transaction.atomic():
        locked = ServiceSubscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.ended_on is not None:
            raise PortfolioError(_("This subscription has already ended."), code="ended")
        if isinstance(ended_on, datetime.date) and ended_on < locked.started_on:
            raise PortfolioError(_("A subscription cannot end before it started."),
                                 code="invalid", field="ended_on")
        locked.ended_on = ended_on
        locked.save(update_fields=["ended_on"])
        audit_record(actor=actor, organization=locked.organization,
                     action="service.subscription.ended", obj=locked,
                     after={"ended_on": ended_on.isoformat()})
        emit_event(type="service.subscription.ended", organization=locked.organization,
                   aggregate=locked, actor=actor,
                   payload={"subscription_id": locked.pk, "service_id": locked.service_id,
                            "account_id": locked.account_id})
    return locked

