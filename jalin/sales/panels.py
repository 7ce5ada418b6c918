"""The sales panels of the CRM account and contact pages (and the account summary API),
registered into jalin.crm.panels from SalesConfig.ready().

Each is a few bounded queries on indexed columns: open deals (organization, account / contact,
LIMIT), the open and won totals of one account (one GROUP BY over that account's deals, index
sales_opp_account), recent quotes (LIMIT, through the deal's account).
"""

from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone

from jalin.tenancy.access import for_org

from .models import Opportunity, OpportunityStatus, SalesQuote

ROWS = 5


def _deal_row(deal, today):
    return {"id": deal.pk, "name": deal.name, "stage": deal.stage.name,
            "amount": deal.amount, "currency": deal.currency, "close_date": deal.close_date,
            "overdue": deal.close_date < today,
            "url": reverse("sales:opportunity_detail", args=[deal.pk])}


def _open_deals(queryset):
    today = timezone.localdate()
    deals = (queryset.filter(status=OpportunityStatus.OPEN).select_related("stage")
             .order_by("close_date", "id")[:ROWS])
    return [_deal_row(deal, today) for deal in deals]


def account_deals(*, organization, record, user):
    """Open deals of the account (closing soonest first) and its open and won totals per
    currency."""
    deals = for_org(Opportunity, organization).filter(account_id=record.pk)
    totals = {OpportunityStatus.OPEN: [], OpportunityStatus.WON: []}
    rows = (deals.filter(status__in=list(totals)).order_by().values("status", "currency")
            .annotate(count=Count("id"), amount=Sum("amount")).order_by("status", "currency"))
    for row in rows:
        totals[row["status"]].append({"currency": row["currency"], "count": row["count"],
                                      "amount": row["amount"]})
    base = reverse("sales:opportunities")
    return {
        "open": _open_deals(deals),
        "open_totals": totals[OpportunityStatus.OPEN],
        "won_totals": totals[OpportunityStatus.WON],
        "view_all_url": f"{base}?account={record.pk}",
        "won_url": f"{base}?account={record.pk}&status=won",
        "new_url": f"{reverse('sales:opportunity_new')}?account={record.pk}",
    }


def account_quotes(*, organization, record, user):
    """The account's most recent quotes, with their status."""
    quotes = (for_org(SalesQuote, organization)
              .filter(opportunity__account_id=record.pk, opportunity__organization=organization)
              .select_related("opportunity").order_by("-id")[:ROWS])
    return {
        "quotes": [{"id": quote.pk, "label": quote.label, "status": quote.status,
                    "status_label": str(quote.get_status_display()),
                    "opportunity": quote.opportunity.name, "total": quote.total_gross,
                    "currency": quote.currency, "valid_until": quote.valid_until,
                    "url": reverse("sales:quote_detail", args=[quote.pk])}
                   for quote in quotes],
        "view_all_url": f"{reverse('sales:quotes')}?account={record.pk}",
    }


def contact_deals(*, organization, record, user):
    """Open deals where the contact is the deal's contact."""
    deals = for_org(Opportunity, organization).filter(contact_id=record.pk)
    return {"open": _open_deals(deals)}


def register():
    from django.utils.translation import gettext_lazy as _

    from jalin.crm.panels import register_account_panel, register_contact_panel
    from jalin.tenancy.roles import SALES_VIEW

    register_account_panel("deals", title=_("Deals"), order=10, selector=account_deals,
                           template="sales/panels/_account_deals.html", permission=SALES_VIEW)
    register_account_panel("quotes", title=_("Quotes"), order=20, selector=account_quotes,
                           template="sales/panels/_account_quotes.html", permission=SALES_VIEW)
    register_contact_panel("deals", title=_("Open deals"), order=10, selector=contact_deals,
                           template="sales/panels/_contact_deals.html", permission=SALES_VIEW)
