from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ServiceConfig(AppConfig):
    name = "jalin.service"
    label = "service"
    verbose_name = _("Service management")

    def ready(self):
        from jalin.core.consumers import register_consumer
        from jalin.core.housekeeping import register_housekeeping

        from .cases import cases_auto_close

        # Resolved cases close by themselves after cases.AUTO_CLOSE_DAYS; hourly is plenty.
        register_housekeeping("service.cases_auto_close", cases_auto_close, every_seconds=3600)
        from .surveys import invitations_expire, on_case_resolved, surveys_send_periodic

        # A resolved case invites its requester to the case-resolved surveys (idempotent:
        # one invitation per case and survey).
        register_consumer("service.survey_invitations", on_case_resolved,
                          event_types=["service.case.resolved"])
        register_housekeeping("service.survey_invitations_expire", invitations_expire,
                              every_seconds=300)
        register_housekeeping("service.surveys_send_periodic", surveys_send_periodic,
                              every_seconds=3600)

        from django.utils import timezone

        from jalin.tenancy.roles import SERVICE_VIEW

        from .models import InvitationStatus, SurveyInvitation
        from .portal import PortalLink, register_desk_link, register_portal_link

        def surveys_waiting(organization, user):
            return SurveyInvitation.objects.filter(
                buyer=organization, status=InvitationStatus.SENT,
                expires_at__gte=timezone.now()).count()

        register_portal_link(PortalLink(
            key="surveys", label=_("Surveys"), url_name="service:survey_portal_list",
            description=_("Tell your suppliers how they did."), perm=SERVICE_VIEW,
            count=surveys_waiting, order=50))
        register_desk_link(PortalLink(
            key="surveys", label=_("Satisfaction surveys"), url_name="service:survey_list",
            description=_("CSAT, NPS and CES: settings, invitations and answers."),
            perm=SERVICE_VIEW, order=50))
        register_desk_link(PortalLink(
            key="survey_dashboard", label=_("Satisfaction dashboard"),
            url_name="service:survey_dashboard",
            description=_("Trends, response rates and every score's answers."),
            perm=SERVICE_VIEW, order=51))

        self._ready_agreement_portfolio()
        self._ready_email_to_case()
        self._ready_sla()

        from .panels import register as register_panels

        # Open cases and agreements in force on the CRM account (and contact) page.
        register_panels()

    def _ready_agreement_portfolio(self):
        from jalin.core.housekeeping import register_housekeeping
        from jalin.core.storage import register_private_files

        from . import agreements

        # Review/renewal reminders (once per agreement × kind × date) and expiry.
        register_housekeeping("service.agreement_reminders", agreements.housekeeping_job,
                              every_seconds=3600)
        register_private_files(agreements.referenced_files)

        from django.utils.translation import gettext_lazy

        from jalin.tenancy.roles import SERVICE_VIEW

        from .portal import PortalLink, register_desk_link, register_portal_link

        register_portal_link(PortalLink(
            key="agreements", label=gettext_lazy("My agreements"),
            url_name="service:portal_agreements",
            description=gettext_lazy("Your contracts and service levels; sign the ones "
                                     "waiting for you."),
            count=agreements.awaiting_customer_count, order=10))
        register_desk_link(PortalLink(
            key="service_portfolio", label=gettext_lazy("Service portfolio"),
            url_name="service:services", perm=SERVICE_VIEW, order=50))
        register_desk_link(PortalLink(
            key="agreement_portfolio", label=gettext_lazy("Agreement portfolio"),
            url_name="service:agreements", perm=SERVICE_VIEW, order=51))

    def _ready_email_to_case(self):
        from jalin.core.consumers import register_consumer
        from jalin.core.housekeeping import register_housekeeping

        # Email to case: replies and acknowledgements out, IMAP mailboxes polled every minute.
        from .mail_transports import mailboxes_poll
        from .outbound_mail import CONSUMER, EVENT_TYPES, on_case_event

        register_consumer(CONSUMER, on_case_event, event_types=EVENT_TYPES)
        register_housekeeping("service.mail_poll", mailboxes_poll, every_seconds=60)

        from jalin.tenancy.roles import ORG_MANAGE

        from .portal import PortalLink, register_desk_link

        register_desk_link(PortalLink(
            key="mailboxes", label=_("Support mailboxes"), url_name="service:mailboxes",
            description=_("E-mail addresses whose mail becomes cases."), perm=ORG_MANAGE,
            order=900))

    def _ready_sla(self):
        from jalin.core.housekeeping import register_housekeeping

        from .calendars import calendars_load_next_year
        from .sla import sla_clocks_check
        from .sla_results import sla_results_freeze_due

        # Warnings and breaches: a minute late at most; each fires once (conditional update).
        register_housekeeping("service.sla_clocks_check", sla_clocks_check, every_seconds=30)
        # Public holidays of next year, once per calendar and year.
        register_housekeeping("service.calendar_holidays", calendars_load_next_year,
                              every_seconds=24 * 3600)
        # Freeze last month's SLA results once the month is over.
        register_housekeeping("service.sla_results_freeze", sla_results_freeze_due,
                              every_seconds=3600)

        from jalin.tenancy.roles import ORG_MANAGE, SERVICE_VIEW

        from .portal import PortalLink, register_desk_link

        register_desk_link(PortalLink(
            key="sla_report", label=_("SLA attainment"), url_name="service:sla_report",
            description=_("Targets met and breached per customer, service, team and month."),
            perm=SERVICE_VIEW, order=40))
        register_desk_link(PortalLink(
            key="sla_settings", label=_("SLA settings"), url_name="service:sla_settings",
            description=_("Business-hours calendars, holidays, SLA policies, escalation rules."),
            perm=ORG_MANAGE, order=90))
