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
