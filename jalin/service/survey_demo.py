"""Demo satisfaction surveys (called by `jalin demo`; idempotent): a CSAT survey sent when a
case is resolved, a quarterly relationship NPS, and — the first time only — one NPS answer
from the supplier's first hub-linked customer, so the dashboard is not empty."""

from jalin.crm.models import Account

from . import surveys
from .models import Survey


def seed_surveys(*, organization, actor):
    """Create the demo surveys that are missing. Returns how many were created."""
    created = 0
    if not Survey.objects.filter(organization=organization, name="CSAT after a case").exists():
        surveys.survey_create(
            organization=organization, actor=actor, name="CSAT after a case", kind="csat",
            question="How satisfied are you with how we handled your case?",
            trigger="case_resolved", good_threshold=4, follow_up_at_or_below=2,
            follow_up_on_comment=False, invitation_valid_days=14)
        created += 1
    if not Survey.objects.filter(organization=organization,
                                 name="Relationship NPS").exists():
        nps = surveys.survey_create(
            organization=organization, actor=actor, name="Relationship NPS", kind="nps",
            question="How likely are you to recommend us to a colleague?", trigger="periodic",
            period_days=90, good_threshold=9, follow_up_at_or_below=6,
            invitation_valid_days=21)
        created += 1
        account = (Account.objects.filter(organization=organization, archived_at__isnull=True,
                                          hub_organization__isnull=False)
                   .order_by("pk").first())
        if account is not None:
            invitation, _token = surveys.invitation_send_manual(survey=nps, account=account,
                                                                actor=actor)
            surveys.survey_answer(invitation=invitation, score=9,
                                  comment="Reliable deliveries.")
    return created
