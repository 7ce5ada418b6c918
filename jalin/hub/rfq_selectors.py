"""Reads of RFQs and quotes. An RFQ is visible to exactly its buyer and its supplier, except
that a draft RFQ is the buyer's alone and a draft quote the supplier's alone."""

from django.db.models import Prefetch, Q

from jalin.tenancy.access import for_org, get_for_org_or_404

from .models import Quote, QuoteLine, QuoteStatus, Rfq, RfqLine, RfqStatus, RfqStatusChange
from .order_selectors import on_side


def rfqs_for(*, organization, side=None, status=None, search=""):
    """RFQs the organization sent (buyer) or received (supplier); `side` narrows."""
    if organization is None:
        return Rfq.objects.none()
    queryset = (for_org(Rfq, organization).select_related("supplier", "buyer")
                .exclude(Q(supplier=organization) & Q(status=RfqStatus.DRAFT)))
    queryset = on_side(queryset, organization=organization, side=side)
    if status:
        queryset = queryset.filter(status=status)
    search = (search or "").strip()[:100]
    if search:
        queryset = queryset.filter(title__icontains=search)
    return queryset


def quotes_visible(organization):
    """Quotes of RFQs the organization may see; a buyer never sees a draft quote."""
    if organization is None:
        return Quote.objects.none()
    return for_org(Quote, organization).exclude(
        Q(buyer=organization) & Q(status=QuoteStatus.DRAFT))


def history_visible(organization):
    """Status changes each side may read: the buyer does not see the supplier's draft quotes,
    the supplier does not see the buyer's drafting."""
    queryset = RfqStatusChange.objects.select_related("quote", "actor").order_by("at", "id")
    return queryset.exclude(
        (Q(rfq__buyer=organization) & Q(quote__isnull=False)
         & (Q(to_status=QuoteStatus.DRAFT) | Q(quote__status=QuoteStatus.DRAFT)))
        | (Q(rfq__supplier=organization) & Q(quote__isnull=True)
           & Q(to_status=RfqStatus.DRAFT)))


def rfq_detail(*, organization, pk):
    queryset = rfqs_for(organization=organization).select_related(
        "relationship", "requested_by").prefetch_related(
        Prefetch("lines", queryset=RfqLine.objects.select_related("product")),
        Prefetch("quotes", queryset=quotes_visible(organization).order_by("-id")
                 .prefetch_related(Prefetch("lines", queryset=QuoteLine.objects.order_by(
                     "position", "id")))),
        Prefetch("status_changes", queryset=history_visible(organization)),
    )
    rfq = get_for_org_or_404(queryset, organization, pk=pk)
    quotes = list(rfq.quotes.all())
    rfq.current_quote = next((q for q in quotes if q.status != QuoteStatus.DRAFT), None)
    rfq.draft_quote = next((q for q in quotes if q.status == QuoteStatus.DRAFT), None)
    return rfq


def rfq_or_404(*, organization, pk):
    return get_for_org_or_404(rfqs_for(organization=organization), organization, pk=pk)


def quote_or_404(*, organization, pk):
    return get_for_org_or_404(quotes_visible(organization).select_related("rfq"),
                              organization, pk=pk)


def order_of_quote(quote):
    from .models import Order

    return Order.objects.filter(quote=quote).first()


def orders_of_quotes(quote_ids):
    from .models import Order

    if not quote_ids:
        return []
    return list(Order.objects.filter(quote_id__in=list(quote_ids)).only("id", "quote_id",
                                                                          "number", "status"))
