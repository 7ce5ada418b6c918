"""The service panels of the CRM account and contact pages (and the account summary API),
registered into jalin.crm.panels from ServiceConfig.ready().

Bounded queries on indexed columns: open cases of the account (organization, account, -id;
LIMIT) with their SLA state (the nearest running clock's due time and two EXISTS per shown
row), agreements in force (organization, account, status; LIMIT), open cases of a contact
(contact FK index; LIMIT).
"""

from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from jalin.tenancy.access import for_org

from .case_selectors import with_sla
from .models import (
    CASE_OPEN_STATUSES,
    Agreement,
    AgreementStatus,
    Case,
    SlaClock,
    SlaClockState,
)

ROWS = 5


def _with_sla_state(queryset, now):
    clocks = SlaClock.objects.filter(case=OuterRef("pk"))
    return with_sla(queryset).annotate(
        sla_breached=Exists(clocks.filter(
            Q(breached_at__isnull=False) | Q(state=SlaClockState.BREACHED)
            | Q(state=SlaClockState.RUNNING, due_at__lte=now))),
        sla_at_risk=Exists(clocks.filter(state=SlaClockState.RUNNING,
                                         breached_at__isnull=True, warn_at__lte=now,
                                         due_at__gt=now)),
    )


def _sla_state(case):
    if case.sla_breached:
        return "breached"
    if case.sla_at_risk:
        return "at_risk"
    if case.due_at is not None:
        return "on_track"
    return "none"


def _open_cases(queryset):
    now = timezone.now()
    cases = (_with_sla_state(queryset.filter(status__in=CASE_OPEN_STATUSES), now)
             .select_related("assignee").order_by("-id")[:ROWS])
    return [{"id": case.pk, "number": case.number, "subject": case.subject,
             "status": case.status, "status_label": str(case.get_status_display()),
             "priority": case.priority, "priority_label": str(case.get_priority_display()),
             "assignee": case.assignee.get_username() if case.assignee else "",
             "sla_state": _sla_state(case), "sla_due_at": case.due_at,
             "url": reverse("service:case_detail", args=[case.pk])} for case in cases]


def account_cases(*, organization, record, user):
    """The account's open cases, newest first, with their SLA state."""
    cases = for_org(Case, organization).filter(account_id=record.pk)
    base = reverse("service:cases")
    return {"open": _open_cases(cases), "view_all_url": f"{base}?account={record.pk}",
            "breached_url": f"{base}?account={record.pk}&sla=breached",
            "new_url": f"{reverse('service:case_new')}?account={record.pk}"}


def account_agreements(*, organization, record, user):
    """Agreements in force with the account (active ones), ending soonest first."""
    agreements = (for_org(Agreement, organization)
                  .filter(account_id=record.pk, status=AgreementStatus.ACTIVE)
                  .order_by("ends_on", "-number")[:ROWS])
    today = timezone.localdate()
    return {
        "in_force": [{"id": item.pk, "label": f"AGR-{item.number}", "title": item.title,
                      "kind": item.kind, "kind_label": str(item.get_kind_display()),
                      "starts_on": item.starts_on, "ends_on": item.ends_on,
                      "ends_soon": bool(item.ends_on and (item.ends_on - today).days
                                        <= item.renewal_notice_days),
                      "url": reverse("service:agreement_detail", args=[item.pk])}
                     for item in agreements],
        "view_all_url": f"{reverse('service:agreements')}?account={record.pk}",
    }


def contact_cases(*, organization, record, user):
    """Open cases where the contact is the case's contact."""
    cases = for_org(Case, organization).filter(contact_id=record.pk)
    return {"open": _open_cases(cases)}


def register():
    from django.utils.translation import gettext_lazy as _

    from jalin.crm.panels import register_account_panel, register_contact_panel
    from jalin.tenancy.roles import SERVICE_VIEW

    register_account_panel("cases", title=_("Open cases"), order=40, selector=account_cases,
                           template="service/panels/_cases.html", permission=SERVICE_VIEW)
    register_account_panel("agreements", title=_("Agreements in force"), order=50,
                           selector=account_agreements,
                           template="service/panels/_agreements.html",
                           permission=SERVICE_VIEW)
    register_contact_panel("cases", title=_("Open cases"), order=20, selector=contact_cases,
                           template="service/panels/_cases.html", permission=SERVICE_VIEW)
