"""Event consumers of sales: what the hub's events tell sales about its quotes.

`sales.quotes_from_hub` consumes the hub's quote events (organization = the supplier):

- `hub.quote.accepted` (payload `quote_id`, `order_id`): the sales quote sent as that hub
  quote becomes accepted with the hub order, and its opportunity is won through the pipeline's
  `opportunity_close(won=True, hub_order=order)`;
- `hub.quote.declined` / `hub.quote.expired`: the sales quote becomes declined / expired;
- `hub.quote.superseded` (the supplier re-quoted that RFQ on the hub's pages): withdrawn.

Idempotent: a receipt per event (`jalin.core.events.idempotent`) and, underneath, the sales
quote is only changed while it is still sent, under its row lock — a redelivered event, a
replayed dead letter or two events racing change it once. It runs in the event dispatcher after
the hub's transaction committed: if sales fails, the hub order stands and sales catches up on
the retry.
"""

from jalin.core.events import idempotent

from .models import SalesQuote, SalesQuoteStatus

QUOTES_CONSUMER = "sales.quotes_from_hub"
QUOTE_EVENT_TYPES = ("hub.quote.accepted", "hub.quote.declined", "hub.quote.expired",
                     "hub.quote.superseded")
OUTCOMES = {"hub.quote.accepted": SalesQuoteStatus.ACCEPTED,
            "hub.quote.declined": SalesQuoteStatus.DECLINED,
            "hub.quote.expired": SalesQuoteStatus.EXPIRED,
            # Re-quoted on the hub's own pages: this version is no longer on the table.
            "hub.quote.superseded": SalesQuoteStatus.WITHDRAWN}


def _id(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def quote_outcome_from_hub(event):
    from . import quotes

    data = event.payload or {}
    status = OUTCOMES.get(event.type)
    hub_quote_id = _id(data.get("quote_id"))
    if status is None or event.organization_id is None or hub_quote_id is None:
        return
    with idempotent(QUOTES_CONSUMER, event) as first_time:
        if not first_time:
            return
        quote = (SalesQuote.objects.select_for_update(of=("self",))
                 .select_related("organization", "opportunity")
                 .filter(organization_id=event.organization_id, hub_quote_id=hub_quote_id)
                 .first())
        if quote is None:
            return  # a quote made on the hub's own pages, not from sales
        order_id = _id(data.get("order_id")) if status == SalesQuoteStatus.ACCEPTED else None
        if quote.status == SalesQuoteStatus.SENT:
            quotes._decide(quote, actor=None, status=status, hub_order_id=order_id)
        elif quote.status == SalesQuoteStatus.ACCEPTED:
            quotes.win_opportunity(quote, actor=None)  # a retry after a failed close
