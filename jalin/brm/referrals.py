"""Referrals: a customer recommended us to another company. Recorded by hand (page or API)
and counted by the BRM metrics."""

import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.crm.models import Account
from jalin.tenancy.access import for_org
from jalin.tenancy.services import TenancyError

from .models import Referral

MAX_NOTE = 5000


class ReferralError(TenancyError):
    pass


def _own_account(organization, account_id, field):
    if account_id is None:
        return None
    account = Account.objects.filter(organization=organization, pk=account_id).first()
    if account is None:
        raise ReferralError(_("Choose one of your accounts."), code="not_found", field=field)
    return account


def referral_create(*, organization, actor, referrer_id, referred_name="",
                    referred_account_id=None, referred_on=None, note="", now=None):
    now = now or timezone.now()
    referrer = _own_account(organization, referrer_id, "referrer_id")
    if referrer is None:
        raise ReferralError(_("Choose the customer who referred."), field="referrer_id")
    referred_account = _own_account(organization, referred_account_id, "referred_account_id")
    referred_name = (referred_name or "").strip()[:200]
    if not referred_name and referred_account is not None:
        referred_name = referred_account.name
    if not referred_name:
        raise ReferralError(_("Name the company that was referred."), field="referred_name")
    if referred_account is not None and referred_account.pk == referrer.pk:
        raise ReferralError(_("A customer cannot refer itself."), field="referred_account_id")
    today = timezone.localdate(now)
    referred_on = referred_on or today
    if referred_on > today + datetime.timedelta(days=1):
        raise ReferralError(_("The referral date cannot be in the future."),
                            field="referred_on")
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ReferralError(_("The note is too long."), field="note")
    with transaction.atomic():
        referral = Referral.objects.create(
            organization=organization, referrer=referrer, referred_account=referred_account,
            referred_name=referred_name, referred_on=referred_on, note=note, created_by=actor,
            created_at=now)
        payload = {"referrer_id": referrer.pk, "referred_account_id": referral.referred_account_id,
                   "referred_name": referred_name, "referred_on": referred_on.isoformat()}
        audit_record(actor=actor, organization=organization, action="brm.referral.created",
                     obj=referral, after=payload)
        emit_event(type="brm.referral.recorded", organization=organization, aggregate=referral,
                   actor=actor, payload=payload)
    return referral


def referrals_for(*, organization, referrer_id=None, first=None, last=None):
    queryset = for_org(Referral, organization).select_related("referrer", "referred_account")
    if referrer_id:
        queryset = queryset.filter(referrer_id=referrer_id)
    if first:
        queryset = queryset.filter(referred_on__gte=first)
    if last:
        queryset = queryset.filter(referred_on__lte=last)
    return queryset
