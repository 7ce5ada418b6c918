from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BrmConfig(AppConfig):
    name = "jalin.brm"
    label = "brm"
    verbose_name = _("Business relationship management")

    def ready(self):
        from jalin.core.housekeeping import register_housekeeping

        from .reviews import schedule_due_reviews

        # Daily would do; hourly keeps a new profile's first review from waiting a day.
        register_housekeeping("brm.schedule_reviews", schedule_due_reviews,
                              every_seconds=3600)

        from jalin.service.portal import PortalLink, register_desk_link, register_portal_link
        from jalin.tenancy.roles import BRM_VIEW, SERVICE_VIEW

        from .review_selectors import buyer_reviews_for

        register_portal_link(PortalLink(
            key="reviews", label=_("Service reviews"), url_name="brm:portal_reviews",
            description=_("Reports of your service reviews with your suppliers."),
            perm=SERVICE_VIEW, order=40,
            count=lambda organization, user: buyer_reviews_for(buyer=organization).count()))
        register_desk_link(PortalLink(
            key="brm_reviews", label=_("Service reviews"), url_name="brm:reviews",
            description=_("Scheduled and held customer service reviews."), perm=BRM_VIEW,
            order=70))
        register_desk_link(PortalLink(
            key="brm_metrics", label=_("BRM metrics"), url_name="brm:metrics",
            description=_("Objectives, sign-offs, changes, SLA, satisfaction, repeat "
                          "business, referrals and improvements per customer."),
            perm=BRM_VIEW, order=80))

        from jalin.core.consumers import register_consumer

        from .consumers import (
            CASE_CONSUMER,
            CASE_EVENT_TYPES,
            SURVEY_CONSUMER,
            SURVEY_EVENT_TYPES,
            raise_from_resolved_case,
            raise_from_survey_answer,
        )

        # The CSI register fills itself from survey answers and resolved complaints.
        register_consumer(SURVEY_CONSUMER, raise_from_survey_answer,
                          event_types=SURVEY_EVENT_TYPES)
        register_consumer(CASE_CONSUMER, raise_from_resolved_case, event_types=CASE_EVENT_TYPES)

        from .register_selectors import portal_awaiting_count

        # The buyer portal home: requirements awaiting the customer's sign-off (one COUNT).
        register_portal_link(PortalLink(
            key="requirements", label=_("Requirements awaiting your sign-off"),
            url_name="brm:portal_requirements", perm=SERVICE_VIEW, order=40,
            description=_("Read the business case and sign off or reject each version."),
            count=lambda organization, user: portal_awaiting_count(buyer=organization)))
        register_desk_link(PortalLink(
            key="improvements", label=_("Continual improvement register"),
            url_name="brm:improvements", perm=BRM_VIEW, order=80,
            description=_("Improvements raised from complaints, feedback and surveys.")))

        from .panels import register as register_panels

        # The customer's portfolio records on the CRM account page.
        register_panels()
