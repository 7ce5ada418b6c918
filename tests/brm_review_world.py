"""Builders for the service review and BRM metrics tests: service desk, SLA clock and survey
rows written directly (these tests check the arithmetic of the reports, not the desk)."""

import datetime
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

from jalin.brm.models import CustomerProfile
from jalin.crm.models import Account
from jalin.service.models import (
    BusinessCalendar,
    Case,
    InvitationStatus,
    SlaClock,
    Survey,
    SurveyInvitation,
    SurveyResponse,
)

JKT = ZoneInfo("Asia/Jakarta")


def at(year, month, day, hour=10, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=JKT)


class World:
    def __init__(self, org):
        self.org = org
        self.calendar = BusinessCalendar.objects.get_or_create(
            organization=org, name="Office hours")[0]
        self.numbers = 0
        self.surveys = {}

    def account(self, name, *, buyer=None, profile=True, manager=None, next_review_on=None,
                every=90):
        account = Account.objects.create(organization=self.org, name=name,
                                         hub_organization=buyer, status="customer")
        if profile:
            CustomerProfile.objects.create(organization=self.org, account=account,
                                           relationship_manager=manager,
                                           next_review_on=next_review_on,
                                           review_every_days=every)
        return account

    def case(self, account, *, kind="question", priority="normal", created, resolved=None,
             status=None):
        self.numbers += 1
        return Case.objects.create(
            organization=self.org, number=self.numbers, kind=kind, priority=priority,
            subject=f"Case {self.numbers}", account=account,
            buyer=account.hub_organization if account else None,
            status=status or ("resolved" if resolved else "open"), created_at=created,
            resolved_at=resolved)

    def clock(self, case, metric, *, state, stopped=None, breached=None):
        return SlaClock.objects.create(
            case=case, metric=metric, calendar=self.calendar, target_seconds=3600,
            state=state, started_at=case.created_at, stopped_at=stopped, breached_at=breached,
            due_at=case.created_at + datetime.timedelta(hours=1))

    def survey(self, kind):
        if kind not in self.surveys:
            threshold = {"csat": 4, "nps": 9, "ces": 5}[kind]
            self.surveys[kind] = Survey.objects.create(
                organization=self.org, name=f"{kind} survey", kind=kind, question="How?",
                good_threshold=threshold)
        return self.surveys[kind]

    def invitation(self, kind, account, *, sent, status=InvitationStatus.SENT):
        return SurveyInvitation.objects.create(
            organization=self.org, survey=self.survey(kind), token_hash=uuid.uuid4().hex,
            account=account, buyer=account.hub_organization if account else None,
            status=status, sent_at=sent, expires_at=sent + datetime.timedelta(days=14))

    def answer(self, kind, account, score, *, when, comment=""):
        invitation = self.invitation(kind, account, sent=when,
                                     status=InvitationStatus.ANSWERED)
        low, high = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}[kind]
        normalized = Decimal(score - low) * 100 / Decimal(high - low)
        return SurveyResponse.objects.create(
            organization=self.org, invitation=invitation, survey=invitation.survey,
            score=score, normalized=normalized.quantize(Decimal("0.01")), comment=comment,
            account=account, created_at=when)
