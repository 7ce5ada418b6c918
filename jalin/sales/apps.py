from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "jalin.sales"
    label = "sales"
    verbose_name = _("Sales")

    def ready(self):
        from jalin.core.consumers import register_consumer
        from jalin.core.housekeeping import register_housekeeping

        from .consumers import QUOTE_EVENT_TYPES, QUOTES_CONSUMER, quote_outcome_from_hub
        from .opportunities import opportunities_alert_stale
        from .quotes import expire_due_quotes

        # Pipeline: stale-deal alerts to owners (once per stale spell); hourly is plenty.
        register_housekeeping("sales.opportunities_alert_stale", opportunities_alert_stale,
                              every_seconds=3600)
        # Quotes: the buyer's answer arrives as hub events; PDF-only quotes expire here.
        register_consumer(QUOTES_CONSUMER, quote_outcome_from_hub,
                          event_types=QUOTE_EVENT_TYPES)
        register_housekeeping("sales.expire_quotes", expire_due_quotes, every_seconds=3600)

        from jalin.service.portal import PortalLink, register_portal_link
        from jalin.tenancy.roles import SERVICE_VIEW

        from .campaigns import campaigns_launch_due, portal_offer_unseen_count

        # Campaigns: scheduled ones launch when due; a stalled preparation is queued again.
        register_housekeeping("sales.campaigns_launch_due", campaigns_launch_due,
                              every_seconds=60)

        # Campaigns: portal offers shown to the targeted buyers (count = offers not seen yet).
        register_portal_link(PortalLink(
            key="offers", label=_("Offers from your suppliers"), url_name="sales:portal_offers",
            description=_("Promotions and offers your suppliers picked for you."),
            perm=SERVICE_VIEW, order=30,
            count=lambda organization, user: portal_offer_unseen_count(organization)))

        # Experiments: hub orders are attributed to campaign recipients (and the holdout).
        from .attribution import CONSUMER as ATTRIBUTION_CONSUMER
        from .attribution import EVENT_TYPES as ATTRIBUTION_EVENTS
        from .attribution import attribute_from_event

        register_consumer(ATTRIBUTION_CONSUMER, attribute_from_event,
                          event_types=ATTRIBUTION_EVENTS)
        self._ready_promos()

        from .panels import register as register_panels

        # Deals and quotes on the CRM account page, open deals on the contact page.
        register_panels()

    def _ready_promos(self):
        from jalin.core.housekeeping import register_housekeeping

        from .segments import segments_refresh_due

        # Dynamic segments are refreshed hourly (each one at most once an hour); the refresh
        # also re-syncs the buyers of promotions that target a segment.
        register_housekeeping("sales.segments_refresh", segments_refresh_due,
                              every_seconds=600)
