"""Campaigns: e-mail or portal offers to a segment, with variants, a holdout group and tracked
delivery, opens, clicks, replies and unsubscribes.

Every service is keyword-only, owns its transaction, writes the audit log and emits a
`sales.campaign.*` event (`created`, `updated`, `variant_added`, `variant_updated`,
`variant_removed`, `scheduled`, `unscheduled`, `launched`, `prepared`, `sent`, `cancelled`,
`unsubscribed`, `replied`).

- A campaign is edited while it is a draft; at least one variant always exists. A stale
  `version` raises `StaleVersion` (409); anything else that cannot be done raises
  `SalesError` / Django's `ValidationError` (422, nothing written).
- `campaign_schedule` checks a draft as a launch would and sets it to launch at a future
  time (status `scheduled`); the `sales.campaigns_launch_due` housekeeping job (every
  minute) launches the due ones. `campaign_unschedule` returns it to draft; cancel works too.
- `campaign_launch` locks the campaign (a second launch is refused, 409), marks it
  `preparing` with the segment's stored member count as the expected size, and queues the
  background task `campaign_tasks.campaign_prepare`: the request does no per-member work.
- The preparation (`campaign_prepare_batch`) copies the segment's members into
  `CampaignRecipient` rows in batches, each batch in one transaction holding the campaign
  row together with its resume point (`prepare_cursor`, the last contact id copied): a
  worker that dies loses only its open batch, a second worker at the same time continues
  after the first one's rows, and (campaign, contact) is unique. One query reads a batch of
  members with their consent and suppression; COPY (PostgreSQL) or `bulk_create` writes
  them, each with its variant from `experiment_stats.assign_group(seed, contact id,
  weights, holdout)` — the same contact lands in the same group however often the
  assignment is computed. E-mail recipients without an address, without `email_opt_in`
  consent, or in `EmailSuppression` (reason `unsubscribed` → skipped as unsubscribed) are
  kept with a `skipped_reason` and never sent; portal offers skip contacts whose account is
  not linked to a hub buyer. Skipped contacts are out of every arm, the holdout included.
  Holdout recipients (variant null) receive nothing; their `sent_at` is the launch time, so
  attribution windows start where the variants' do. The last batch switches the campaign to
  `sending` and queues the sending.
- Sending is a background task (`campaign_tasks.campaign_send`) that works in batches; each
  recipient is claimed with `UPDATE ... SET sent_at = now WHERE sent_at IS NULL` in its own
  transaction, so a retried or parallel run never mails anyone twice; a failed send rolls
  the claim back. Mail goes through Django's mailer (SMTP in production) with a one-click
  `List-Unsubscribe` + `List-Unsubscribe-Post` header (RFC 8058), an open pixel, click
  links that redirect only to the variant's own links, and a `Reply-To` carrying the
  recipient's token (`<reply local part>+<token>@<domain>`) so replies are recognized.
- Unsubscribing puts the address on the suppression list and withdraws the contact's CRM
  consent (`email_opt_in`, through the CRM's service: audited, on the contact's timeline).
- Portal offers are "sent" by making them visible: the buyer users of the recipients'
  linked buyer organizations see the variant's offer in the portal (views and clicks
  tracked).
"""

import contextlib
import datetime
import email
import email.policy
import html
import io
import re
import secrets
import smtplib
from email.utils import formataddr, getaddresses, parseaddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, mailers
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.bulkload import TableWriter
from jalin.core.events import emit_event
from jalin.core.params import int_param
from jalin.crm.services import contact_email_opt_out
from jalin.hub.models import Promotion
from jalin.tenancy.services import StaleVersion

from . import experiment_stats
from .leads import SalesError, member_user
from .models import (
    Campaign,
    CampaignChannel,
    CampaignRecipient,
    CampaignStatus,
    CampaignVariant,
    EmailSuppression,
    PrimaryMetric,
    Segment,
    SegmentMember,
)

__all__ = ["SalesError", "StaleVersion"]

CAMPAIGN_FIELDS = (
    "name", "channel", "segment", "promotion", "holdout_percent", "primary_metric",
    "attribution_days", "baseline_rate", "minimum_detectable_effect", "owner", "budget",
)
VARIANT_FIELDS = ("name", "weight", "subject", "body", "offer_url")
MAX_VARIANTS = 10
SNAPSHOT_BATCH = 1000
# Segment members copied into recipients per transaction of the background preparation.
PREPARE_BATCH = 5000
# A preparation with no committed batch for this long is queued again by the scheduler.
PREPARE_STALL = datetime.timedelta(minutes=10)
MAX_SCHEDULE_DAYS = 366
SEND_BATCH = 100
ACTIVE = (CampaignStatus.PREPARING, CampaignStatus.SENDING)
LINK_RE = re.compile(r"https?://[^\s<>\"'()\[\]]+")
TRAILING = ".,;:!?"
PLACEHOLDERS = ("first_name", "last_name", "account")


class SkipReason:
    NO_EMAIL = "no_email"
    NO_CONSENT = "no_consent"
    SUPPRESSED = "suppressed"
    UNSUBSCRIBED = "unsubscribed"
    NO_BUYER = "no_buyer"
    REFUSED = "refused"


def skip_reason_labels():
    return {
        SkipReason.NO_EMAIL: _("No e-mail address"),
        SkipReason.NO_CONSENT: _("No consent to e-mail"),
        SkipReason.SUPPRESSED: _("On the suppression list"),
        SkipReason.UNSUBSCRIBED: _("Unsubscribed"),
        SkipReason.NO_BUYER: _("Account not linked to a hub buyer"),
        SkipReason.REFUSED: _("Refused by the mail server"),
    }


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def _invalid(field, message, code="invalid"):
    return ValidationError({field: [ValidationError(message, code=code)]})


def _jsonable(values):
    out = {}
    for key, value in values.items():
        if hasattr(value, "pk"):
            out[key] = value.pk
        elif value is None or isinstance(value, (bool, int, str)):
            out[key] = value
        else:
            out[key] = str(value)
    return out


# --- Links -------------------------------------------------------------------------------


def _strip_link(url):
    return url.rstrip(TRAILING)


def variant_links(variant):
    """The variant's own links, in order: every http(s) address in its message, then its
    offer link. A click redirect goes only to one of these (by position)."""
    links = []
    for match in LINK_RE.findall(variant.body or ""):
        link = _strip_link(match)
        if link not in links:
            links.append(link)
    if variant.offer_url and variant.offer_url not in links:
        links.append(variant.offer_url)
    return links


def _check_offer_url(value):
    value = (value or "").strip()
    if not value:
        return ""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value[:300]
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        raise _invalid("offer_url", _("Enter a web address (https://...) or a path on this "
                                      "site (/...).")) from None
    return value[:300]


def site_url(path):
    return f"{settings.JALIN_SITE_URL}{path}"


# --- Campaigns ---------------------------------------------------------------------------


def _apply(organization, campaign, values):
    unknown = set(values) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise SalesError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown")
    for name, value in values.items():
        if name == "name":
            value = " ".join(str(value or "").split())
            if not value:
                raise _invalid("name", _("Give the campaign a name."), code="required")
            campaign.name = value[:150]
        elif name == "segment":
            if value in (None, ""):
                campaign.segment = None
            else:
                segment_id = getattr(value, "pk", value)
                segment = Segment.objects.filter(organization=organization,
                                                 pk=int_param(segment_id, default=-1)).first()
                if segment is None:
                    raise SalesError(_("No such segment in this organization."),
                                     code="not_found", field="segment_id")
                campaign.segment = segment
        elif name == "promotion":
            if value in (None, ""):
                campaign.promotion = None
            else:
                promotion_id = getattr(value, "pk", value)
                promotion = Promotion.objects.filter(supplier=organization,
                                                     pk=int_param(promotion_id, default=-1)).first()
                if promotion is None:
                    raise SalesError(_("No such promotion in this organization."),
                                     code="not_found", field="promotion_id")
                campaign.promotion = promotion
        elif name == "owner":
            campaign.owner = member_user(organization, value)
        elif name == "channel":
            if value not in CampaignChannel.values:
                raise _invalid("channel", _("Choose e-mail or portal offer."))
            campaign.channel = value
        elif name == "primary_metric":
            if value not in PrimaryMetric.values:
                raise _invalid("primary_metric", _("Choose one of the metrics."))
            campaign.primary_metric = value
        elif name == "holdout_percent":
            campaign.holdout_percent = 0 if value in ("", None) else value
        elif name in ("baseline_rate", "minimum_detectable_effect", "budget"):
            setattr(campaign, name, None if value in ("", None) else value)
        elif name == "attribution_days":
            campaign.attribution_days = value
    try:
        campaign.full_clean(exclude=["organization", "segment", "promotion", "owner", "seed"])
    except ValidationError as error:
        raise ValidationError(error.message_dict) from None
    if not 1 <= campaign.attribution_days <= 365:
        raise _invalid("attribution_days", _("The window is 1 to 365 days."))
    if campaign.baseline_rate is not None and not 0 < campaign.baseline_rate < 100:
        raise _invalid("baseline_rate", _("A rate between 0 and 100 %."))
    if campaign.minimum_detectable_effect is not None and not (
            0 < campaign.minimum_detectable_effect < 100):
        raise _invalid("minimum_detectable_effect",
                       _("A lift between 0 and 100 percentage points."))
    if campaign.budget is not None and campaign.budget < 0:
        raise _invalid("budget", _("The budget cannot be negative."))


def _state(campaign):
    return {name: getattr(campaign, name + "_id" if name in ("segment", "promotion", "owner")
                          else name) for name in CAMPAIGN_FIELDS}


def campaign_create(*, organization, actor, name, channel=CampaignChannel.EMAIL, segment=None,
                    promotion=None, holdout_percent=0, primary_metric=PrimaryMetric.CONVERSION,
                    attribution_days=30, baseline_rate=None, minimum_detectable_effect=None,
                    owner=None, budget=None, variants=None):
    """A draft campaign with its variants (default: one variant "A"). `variants` is a list of
    dicts with `name`, `weight`, `subject`, `body`, `offer_url`."""
    campaign = Campaign(organization=organization, seed=secrets.token_hex(8))
    _apply(organization, campaign, {
        "name": name, "channel": channel, "segment": segment, "promotion": promotion,
        "holdout_percent": holdout_percent, "primary_metric": primary_metric,
        "attribution_days": attribution_days, "baseline_rate": baseline_rate,
        "minimum_detectable_effect": minimum_detectable_effect, "budget": budget})
    campaign.owner = member_user(organization, owner) if owner else _user(actor)
    variants = list(variants or [{"name": "A"}])
    if len(variants) > MAX_VARIANTS:
        raise _invalid("variants", _("At most %(count)d variants.") % {"count": MAX_VARIANTS})
    cleaned = [_clean_variant(CampaignVariant(), values, index=index)
               for index, values in enumerate(variants)]
    names = [variant.name.lower() for variant in cleaned]
    if len(set(names)) != len(names):
        raise _invalid("variants", _("Each variant needs its own name."))
    with transaction.atomic():
        campaign.save()
        for variant in cleaned:
            variant.campaign = campaign
        CampaignVariant.objects.bulk_create(cleaned)
        audit_record(actor=actor, organization=organization, action="sales.campaign.created",
                     obj=campaign, after=_jsonable(_state(campaign)))
        emit_event(type="sales.campaign.created", organization=organization,
                   aggregate=campaign, actor=_user(actor),
                   payload={"name": campaign.name, "channel": campaign.channel,
                            "variants": [variant.name for variant in cleaned]})
    return campaign


def _locked_draft(campaign, version=None):
    locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if version is not None and locked.version != version:
        raise StaleVersion()
    if locked.status != CampaignStatus.DRAFT:
        raise SalesError(_("Only a draft campaign can be changed."), code="not_draft",
                         field="status")
    return locked


def campaign_update(*, campaign, actor, version, **changes):
    """Change a draft campaign; `version` must match."""
    organization = campaign.organization
    with transaction.atomic():
        locked = _locked_draft(campaign, version)
        before = _state(locked)
        _apply(organization, locked, changes)
        after = _state(locked)
        changed = sorted(key for key in after if after[key] != before[key])
        if not changed:
            return locked
        locked.version += 1
        locked.save()
        audit_record(actor=actor, organization=organization, action="sales.campaign.updated",
                     obj=locked, before=_jsonable({k: before[k] for k in changed}),
                     after=_jsonable({k: after[k] for k in changed}))
        emit_event(type="sales.campaign.updated", organization=organization, aggregate=locked,
                   actor=_user(actor), payload={"changed": changed, "name": locked.name})
    return locked


# --- Variants ----------------------------------------------------------------------------


def _clean_variant(variant, values, *, index=None):
    unknown = set(values) - set(VARIANT_FIELDS)
    if unknown:
        raise SalesError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown")
    prefix = "" if index is None else f"variants.{index}."
    for name, value in values.items():
        if name == "name":
            value = " ".join(str(value or "").split())
            if not value:
                raise _invalid(prefix + "name", _("Give the variant a name."), code="required")
            variant.name = value[:60]
        elif name == "weight":
            if value in (None, ""):
                value = 1
            try:
                value = int(value)
            except (TypeError, ValueError):
                value = 0
            if not 1 <= value <= 1000:
                raise _invalid(prefix + "weight", _("A whole number from 1 to 1000."))
            variant.weight = value
        elif name == "subject":
            variant.subject = " ".join(str(value or "").split())[:200]
        elif name == "body":
            variant.body = str(value or "").strip()[:20000]
        elif name == "offer_url":
            try:
                variant.offer_url = _check_offer_url(value)
            except ValidationError:
                raise _invalid(prefix + "offer_url", _(
                    "Enter a web address (https://...) or a path on this site (/...).")) from None
    if not variant.name:
        raise _invalid(prefix + "name", _("Give the variant a name."), code="required")
    return variant


def variant_add(*, campaign, actor, name, weight=1, subject="", body="", offer_url=""):
    organization = campaign.organization
    with transaction.atomic():
        locked = _locked_draft(campaign)
        if locked.variants.count() >= MAX_VARIANTS:
            raise _invalid("name", _("At most %(count)d variants.") % {"count": MAX_VARIANTS})
        variant = _clean_variant(CampaignVariant(campaign=locked), {
            "name": name, "weight": weight, "subject": subject, "body": body,
            "offer_url": offer_url})
        if locked.variants.filter(name__iexact=variant.name).exists():
            raise _invalid("name", _("Each variant needs its own name."))
        variant.save()
        _touch(locked)
        audit_record(actor=actor, organization=organization,
                     action="sales.campaign.variant_added", obj=variant,
                     after={"name": variant.name, "weight": variant.weight})
        emit_event(type="sales.campaign.variant_added", organization=organization,
                   aggregate=locked, actor=_user(actor),
                   payload={"variant_id": variant.pk, "name": variant.name})
    return variant


def variant_update(*, variant, actor, **changes):
    campaign = variant.campaign
    organization = campaign.organization
    with transaction.atomic():
        locked = _locked_draft(campaign)
        row = CampaignVariant.objects.select_for_update().get(pk=variant.pk)
        before = {name: getattr(row, name) for name in VARIANT_FIELDS}
        _clean_variant(row, changes)
        if locked.variants.filter(name__iexact=row.name).exclude(pk=row.pk).exists():
            raise _invalid("name", _("Each variant needs its own name."))
        after = {name: getattr(row, name) for name in VARIANT_FIELDS}
        changed = sorted(key for key in after if after[key] != before[key])
        if not changed:
            return row
        row.save()
        _touch(locked)
        audit_record(actor=actor, organization=organization,
                     action="sales.campaign.variant_updated", obj=row,
                     before={k: before[k] for k in changed}, after={k: after[k] for k in changed})
        emit_event(type="sales.campaign.variant_updated", organization=organization,
                   aggregate=locked, actor=_user(actor),
                   payload={"variant_id": row.pk, "changed": changed})
    return row


def variant_remove(*, variant, actor):
    campaign = variant.campaign
    organization = campaign.organization
    with transaction.atomic():
        locked = _locked_draft(campaign)
        if locked.variants.count() <= 1:
            raise SalesError(_("A campaign needs at least one variant."), code="last_variant",
                             field="variant")
        audit_record(actor=actor, organization=organization,
                     action="sales.campaign.variant_removed", obj=variant)
        emit_event(type="sales.campaign.variant_removed", organization=organization,
                   aggregate=locked, actor=_user(actor),
                   payload={"variant_id": variant.pk, "name": variant.name})
        variant.delete()
        _touch(locked)


def _touch(locked):
    locked.version += 1
    locked.save(update_fields=["version"])


# --- Launch ------------------------------------------------------------------------------


def _launch_problems(campaign, variants):
    if campaign.segment_id is None:
        raise _invalid("segment_id", _("Choose a segment to send to."), code="required")
    if not variants:
        raise SalesError(_("A campaign needs at least one variant."), code="last_variant",
                         field="variant")
    for variant in variants:
        if campaign.channel == CampaignChannel.EMAIL:
            if not variant.subject or not variant.body:
                raise _invalid("variant", _("Variant %(name)s needs a subject and a message.")
                               % {"name": variant.name}, code="required")
        elif not variant.subject or not variant.offer_url:
            raise _invalid("variant", _("Variant %(name)s needs a headline and an offer link.")
                           % {"name": variant.name}, code="required")


def _skip(campaign, *, email, opt_in, suppression, buyer_id):
    if campaign.channel == CampaignChannel.PORTAL_OFFER:
        return "" if buyer_id else SkipReason.NO_BUYER
    if not email:
        return SkipReason.NO_EMAIL
    if suppression:
        return (SkipReason.UNSUBSCRIBED if suppression == "unsubscribed"
                else SkipReason.SUPPRESSED)
    if not opt_in:
        return SkipReason.NO_CONSENT
    return ""


def _members(campaign):
    """The segment's live contacts with what the snapshot needs, in one query (iterated)."""
    suppression = EmailSuppression.objects.filter(
        organization_id=campaign.organization_id, email=OuterRef("contact__email"),
    ).values("reason")[:1]
    return (SegmentMember.objects
            .filter(segment_id=campaign.segment_id, contact__archived_at__isnull=True,
                    contact__organization_id=campaign.organization_id)
            .annotate(suppression=Subquery(suppression))
            .order_by("contact_id")
            .values_list("contact_id", "contact__email", "contact__email_opt_in",
                         "account_id", "contact__account_id",
                         "account__hub_organization_id", "contact__account__hub_organization_id",
                         "suppression"))


def campaign_launch(*, campaign, actor, now=None):
    """Launch a draft (or scheduled) campaign: checked, marked "preparing" and handed to the
    background task that snapshots the segment (`campaign_prepare`) and then sends. Fast
    whatever the segment's size. A campaign launches once (409 otherwise)."""
    organization = campaign.organization
    now = now or timezone.now()
    with transaction.atomic():
        locked = (Campaign.objects.select_for_update(of=("self",)).select_related("segment")
                  .get(pk=campaign.pk))
        if locked.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
            raise SalesError(_("This campaign has already been launched."),
                             code="already_launched", field="status")
        variants = list(locked.variants.order_by("id"))
        _launch_problems(locked, variants)
        scheduled = locked.status == CampaignStatus.SCHEDULED
        locked.status = CampaignStatus.PREPARING
        locked.sent_at = now
        locked.send_error = ""
        # The segment keeps its member count (refreshed with it): an estimate for the
        # progress bar, never a COUNT(*) of a million rows in the request.
        locked.recipients_expected = locked.segment.member_count
        locked.recipients_prepared = 0
        locked.prepare_cursor = 0
        locked.progress_at = now
        locked.version += 1
        locked.save(update_fields=["status", "sent_at", "send_error", "recipients_expected",
                                   "recipients_prepared", "prepare_cursor", "progress_at",
                                   "version"])
        after = {"expected": locked.recipients_expected, "scheduled": scheduled}
        audit_record(actor=actor, organization=organization, action="sales.campaign.launched",
                     obj=locked, after=after)
        emit_event(type="sales.campaign.launched", organization=organization,
                   aggregate=locked, actor=_user(actor), payload={"name": locked.name, **after})
        transaction.on_commit(lambda: _enqueue_prepare(locked.pk))
    return locked


def campaign_prepare_batch(*, campaign_id, batch_size=PREPARE_BATCH, now=None):
    """Copy the next `batch_size` segment members into recipients, in one transaction that
    holds the campaign row: the rows and the resume point (`prepare_cursor`, the last contact
    id copied) commit together, so a worker that dies loses only its uncommitted batch and a
    second worker running at the same time waits and continues after the first one's rows
    (no duplicates; the (campaign, contact) constraint is the backstop). Each recipient gets
    its variant from `experiment_stats.assign_group(seed, contact id, ...)`, skips are
    recorded. The last batch switches the campaign to "sending" and queues the sending.
    Returns the rows written, or None when the campaign is not preparing."""
    with transaction.atomic():
        locked = (Campaign.objects.select_for_update(of=("self",))
                  .select_related("organization").filter(pk=campaign_id).first())
        if locked is None or locked.status != CampaignStatus.PREPARING:
            return None
        variants = list(locked.variants.order_by("id"))
        weights = [variant.weight for variant in variants]
        rows = list(_members(locked).filter(contact_id__gt=locked.prepare_cursor)[:batch_size])
        # COPY on PostgreSQL, bulk_create elsewhere (the ORM's per-object cost dominated).
        writer = TableWriter(CampaignRecipient, batch=SNAPSHOT_BATCH, out=io.StringIO())
        for (contact_id, address, opt_in, member_account, contact_account, member_buyer,
             contact_buyer, suppression) in rows:
            index = experiment_stats.assign_group(
                seed=locked.seed, key=contact_id, weights=weights,
                holdout_percent=locked.holdout_percent)
            account_id = member_account or contact_account
            buyer_id = member_buyer if member_account else contact_buyer
            reason = _skip(locked, email=address, opt_in=opt_in, suppression=suppression,
                           buyer_id=buyer_id)
            holdout = index is None
            writer.add({
                "campaign_id": locked.pk, "variant_id": None if holdout else variants[index].pk,
                "contact_id": contact_id, "account_id": account_id, "buyer_id": buyer_id,
                "email": address or "", "token": secrets.token_urlsafe(32),
                "skipped_reason": reason,
                # The holdout gets nothing; its attribution window starts at the launch.
                "sent_at": locked.sent_at if holdout and not reason else None})
        writer.flush()
        if rows:
            locked.prepare_cursor = rows[-1][0]
            locked.recipients_prepared += len(rows)
        locked.progress_at = now or timezone.now()
        fields = ["prepare_cursor", "recipients_prepared", "progress_at"]
        if len(rows) < batch_size:
            _prepared(locked)
            fields += ["status", "version", "recipients_skipped", "recipients_holdout",
                       "recipients_to_send", "recipients_sent"]
        locked.save(update_fields=fields)
    return len(rows)


def _prepared(locked):
    """The snapshot is complete: count it once, start sending (inside the batch's
    transaction)."""
    counts = CampaignRecipient.objects.filter(campaign_id=locked.pk).aggregate(
        recipients=Count("id"), skipped=Count("id", filter=~Q(skipped_reason="")),
        holdout=Count("id", filter=Q(variant__isnull=True, skipped_reason="")))
    locked.status = CampaignStatus.SENDING
    # The sending's progress counters (see `campaign_progress`).
    locked.recipients_prepared = counts["recipients"]
    locked.recipients_skipped = counts["skipped"]
    locked.recipients_holdout = counts["holdout"]
    locked.recipients_to_send = counts["recipients"] - counts["skipped"] - counts["holdout"]
    locked.recipients_sent = 0
    locked.version += 1
    audit_record(actor=None, organization=locked.organization,
                 action="sales.campaign.prepared", obj=locked, after=counts)
    emit_event(type="sales.campaign.prepared", organization=locked.organization,
               aggregate=locked, payload={"name": locked.name, **counts})
    transaction.on_commit(lambda: _enqueue(locked.pk))


def campaign_prepare(*, campaign_id, batch_size=PREPARE_BATCH, max_batches=None):
    """The whole snapshot, batch after batch (progress is visible between batches); safe to
    run again or twice at once. Returns the rows written by this run."""
    total = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        written = campaign_prepare_batch(campaign_id=campaign_id, batch_size=batch_size)
        if written is None:
            break
        total += written
        batches += 1
        if written < batch_size:
            break
    return total


def _enqueue_prepare(campaign_id):
    from .campaign_tasks import campaign_prepare

    campaign_prepare.enqueue(campaign_id=campaign_id)


def _enqueue(campaign_id):
    from .campaign_tasks import campaign_send

    campaign_send.enqueue(campaign_id=campaign_id)


# --- Scheduling --------------------------------------------------------------------------


def _check_schedule_time(scheduled_for, now):
    if scheduled_for in (None, ""):
        raise _invalid("scheduled_for", _("Choose when to send the campaign."),
                       code="required")
    if timezone.is_naive(scheduled_for):
        scheduled_for = timezone.make_aware(scheduled_for)
    if scheduled_for <= now:
        raise _invalid("scheduled_for", _("Choose a time in the future."), code="past")
    if scheduled_for > now + datetime.timedelta(days=MAX_SCHEDULE_DAYS):
        raise _invalid("scheduled_for", _("Schedule at most %(days)d days ahead.")
                       % {"days": MAX_SCHEDULE_DAYS}, code="too_far")
    return scheduled_for


def campaign_schedule(*, campaign, actor, scheduled_for, version=None, now=None):
    """Launch a draft later, at `scheduled_for` (a future time; naive times are in the
    current time zone). Checked now as a launch would be; a scheduled campaign is no longer
    edited (unschedule it first) and can be rescheduled, launched at once or cancelled."""
    organization = campaign.organization
    now = now or timezone.now()
    scheduled_for = _check_schedule_time(scheduled_for, now)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if version is not None and locked.version != version:
            raise StaleVersion()
        if locked.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
            raise SalesError(_("This campaign has already been launched."),
                             code="already_launched", field="status")
        _launch_problems(locked, list(locked.variants.order_by("id")))
        before = {"status": locked.status, "scheduled_for": locked.scheduled_at}
        locked.status = CampaignStatus.SCHEDULED
        locked.scheduled_at = scheduled_for
        locked.version += 1
        locked.save(update_fields=["status", "scheduled_at", "version"])
        after = {"status": locked.status, "scheduled_for": scheduled_for}
        audit_record(actor=actor, organization=organization, action="sales.campaign.scheduled",
                     obj=locked, before=_jsonable(before), after=_jsonable(after))
        emit_event(type="sales.campaign.scheduled", organization=organization,
                   aggregate=locked, actor=_user(actor),
                   payload={"name": locked.name, "scheduled_for": scheduled_for.isoformat()})
    return locked


def campaign_unschedule(*, campaign, actor, version=None):
    """A scheduled campaign goes back to draft (to be edited or launched by hand)."""
    organization = campaign.organization
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if version is not None and locked.version != version:
            raise StaleVersion()
        if locked.status != CampaignStatus.SCHEDULED:
            raise SalesError(_("Only a scheduled campaign can be unscheduled."),
                             code="not_scheduled", field="status")
        before = {"scheduled_for": locked.scheduled_at}
        locked.status = CampaignStatus.DRAFT
        locked.scheduled_at = None
        locked.version += 1
        locked.save(update_fields=["status", "scheduled_at", "version"])
        audit_record(actor=actor, organization=organization,
                     action="sales.campaign.unscheduled", obj=locked, before=_jsonable(before))
        emit_event(type="sales.campaign.unscheduled", organization=organization,
                   aggregate=locked, actor=_user(actor), payload={"name": locked.name})
    return locked


def campaigns_launch_due(*, now=None, limit=100):
    """The scheduler (a housekeeping job, every minute): launch the scheduled campaigns
    whose time has come, and queue again the preparations that made no progress for
    `PREPARE_STALL` (a worker died: the snapshot resumes where it stopped). A campaign that
    cannot launch keeps its reason in `send_error` and stays scheduled."""
    now = now or timezone.now()
    due = list(Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_at__lte=now)
               .select_related("organization").order_by("scheduled_at", "id")[:limit])
    launched = 0
    for campaign in due:
        try:
            campaign_launch(campaign=campaign, actor=None, now=now)
        except SalesError as error:
            if error.code != "already_launched":  # someone launched it meanwhile
                _schedule_failed(campaign, error)
            continue
        except ValidationError as error:
            _schedule_failed(campaign, error)
            continue
        launched += 1
    stalled = list(Campaign.objects.filter(status=CampaignStatus.PREPARING,
                                           progress_at__lt=now - PREPARE_STALL)
                   .values_list("pk", flat=True)[:limit])
    for campaign_id in stalled:
        Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.PREPARING).update(
            progress_at=now)
        transaction.on_commit(lambda campaign_id=campaign_id: _enqueue_prepare(campaign_id))
    if launched or stalled:
        return {"launched": launched, "requeued": len(stalled)}
    return None


def _schedule_failed(campaign, error):
    messages = getattr(error, "messages", None) or [str(error)]
    Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.SCHEDULED).update(
        send_error=" ".join(str(message) for message in messages)[:300])


def campaign_resume(*, campaign, actor):
    """Queue the preparation or the sending again (after an interrupted or failed run); safe
    to repeat: nobody is copied or mailed twice."""
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status not in ACTIVE:
            raise SalesError(_("Only a campaign that is sending can be resumed."),
                             code="not_sending", field="status")
        locked.send_error = ""
        locked.save(update_fields=["send_error"])
        audit_record(actor=actor, organization=locked.organization,
                     action="sales.campaign.resumed", obj=locked)
        enqueue = _enqueue_prepare if locked.status == CampaignStatus.PREPARING else _enqueue
        transaction.on_commit(lambda: enqueue(locked.pk))
    return locked


def campaign_cancel(*, campaign, actor, version=None):
    """Stop a draft, scheduled, preparing or sending campaign: whoever has not been sent to
    yet gets nothing (a preparation stops at its next batch)."""
    organization = campaign.organization
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if version is not None and locked.version != version:
            raise StaleVersion()
        if locked.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED,
                                 CampaignStatus.PREPARING, CampaignStatus.SENDING):
            raise SalesError(_("This campaign can no longer be cancelled."),
                             code="not_cancellable", field="status")
        before = locked.status
        locked.status = CampaignStatus.CANCELLED
        locked.version += 1
        locked.save(update_fields=["status", "version"])
        audit_record(actor=actor, organization=organization, action="sales.campaign.cancelled",
                     obj=locked, before={"status": before})
        emit_event(type="sales.campaign.cancelled", organization=organization,
                   aggregate=locked, actor=_user(actor), payload={"name": locked.name})
    return locked


# --- Sending -----------------------------------------------------------------------------


def reply_address(token):
    """Reply-To for a recipient: JALIN_CAMPAIGN_REPLY_ADDRESS (else the From address) with
    the token as a plus tag."""
    base = getattr(settings, "JALIN_CAMPAIGN_REPLY_ADDRESS", "") or parseaddr(
        settings.DEFAULT_FROM_EMAIL)[1] or "campaigns@jalin.invalid"
    local, _sep, domain = base.partition("@")
    return f"{local.split('+')[0]}+{token}@{domain or 'jalin.invalid'}"


def message_id(token):
    domain = reply_address(token).rsplit("@", 1)[-1]
    return f"<campaign.{token}@{domain}>"


def _personal(text, recipient):
    contact = recipient.contact
    values = {"first_name": contact.first_name or contact.last_name,
              "last_name": contact.last_name,
              "account": recipient.account.name if recipient.account_id else ""}
    for key in PLACEHOLDERS:
        text = text.replace("{" + key + "}", values[key])
    return text


def tracked_link(token, index):
    return site_url(reverse("sales:campaign_click", args=[token, index]))


def unsubscribe_url(token):
    return site_url(reverse("sales:campaign_unsubscribe", args=[token]))


def build_message(recipient):
    """The e-mail for one recipient (plain text and HTML, tracked links, pixel, one-click
    unsubscribe headers, Reply-To with the token)."""
    variant = recipient.variant
    campaign = recipient.campaign
    token = recipient.token
    links = variant_links(variant)
    body = _personal(variant.body, recipient)
    subject = _personal(variant.subject, recipient)

    def text_link(match):
        link = _strip_link(match.group(0))
        tail = match.group(0)[len(link):]
        return tracked_link(token, links.index(link)) + tail if link in links else match.group(0)

    text = LINK_RE.sub(text_link, body)
    unsubscribe = unsubscribe_url(token)
    reason = _("You receive this because you agreed to e-mail from %(organization)s.") % {
        "organization": campaign.organization.name}
    text = f"{text}\n\n-- \n{reason}\n{_('Unsubscribe')}: {unsubscribe}"

    parts = []
    position = 0
    for match in LINK_RE.finditer(body):
        link = _strip_link(match.group(0))
        parts.append(html.escape(body[position:match.start()]))
        if link in links:
            parts.append(f'<a href="{html.escape(tracked_link(token, links.index(link)))}">'
                         f"{html.escape(link)}</a>")
        else:
            parts.append(html.escape(link))
        position = match.start() + len(link)
    parts.append(html.escape(body[position:]))
    linked = "".join(parts)
    paragraphs = "".join(f"<p>{part.replace(chr(10), '<br>')}</p>"
                         for part in linked.split("\n\n"))
    pixel = site_url(reverse("sales:campaign_open", args=[token]))
    html_body = (f"<!doctype html><html><body>{paragraphs}"
                 f"<hr><p><small>{html.escape(reason)}"
                 f' <a href="{html.escape(unsubscribe)}">{html.escape(_("Unsubscribe"))}</a>'
                 f"</small></p>"
                 f'<img src="{html.escape(pixel)}" width="1" height="1" alt=""></body></html>')
    sender_address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1] or "no-reply@jalin.invalid"
    message = EmailMultiAlternatives(
        subject=subject, body=text,
        from_email=formataddr((campaign.organization.name, sender_address)),
        to=[recipient.email], reply_to=[reply_address(token)],
        headers={
            "Message-ID": message_id(token),
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Precedence": "bulk",
            "X-Jalin-Campaign": str(campaign.pk),
        })
    message.attach_alternative(html_body, "text/html")
    return message


def _remaining(campaign_id):
    return (CampaignRecipient.objects
            .filter(campaign_id=campaign_id, sent_at__isnull=True, skipped_reason="",
                    variant__isnull=False))


def campaign_send_batch(*, campaign_id, batch_size=SEND_BATCH, connection=None, now=None):
    """Send to the next batch of unsent recipients. Returns the number sent, or None when the
    campaign is not sending (cancelled, finished) or a send failed (the error is stored)."""
    campaign = (Campaign.objects.select_related("organization")
                .filter(pk=campaign_id).first())
    if campaign is None or campaign.status != CampaignStatus.SENDING:
        return None
    ids = list(_remaining(campaign_id).order_by("id").values_list("id", flat=True)[:batch_size])
    if not ids:
        _finish(campaign)
        return 0
    if campaign.channel == CampaignChannel.PORTAL_OFFER:
        with transaction.atomic():
            sent = CampaignRecipient.objects.filter(pk__in=ids, sent_at__isnull=True).update(
                sent_at=now or timezone.now())
            _count_sent(campaign_id, sent=sent)
        return sent
    sent = refused = 0
    recipients = (CampaignRecipient.objects
                  .select_related("variant", "contact", "account", "campaign__organization")
                  .filter(pk__in=ids).order_by("id"))
    own_connection = connection is None
    connection = connection or mailers.default
    try:
        if own_connection:
            connection.open()
        for recipient in recipients:
            try:
                with transaction.atomic():
                    claimed = CampaignRecipient.objects.filter(
                        pk=recipient.pk, sent_at__isnull=True).update(
                        sent_at=now or timezone.now())
                    if not claimed:
                        continue  # another run sent it
                    connection.send_messages([build_message(recipient)])
            except smtplib.SMTPRecipientsRefused:
                refused += CampaignRecipient.objects.filter(
                    pk=recipient.pk, sent_at__isnull=True).update(
                    skipped_reason=SkipReason.REFUSED)
                continue
            sent += 1
    except Exception as exc:  # noqa: BLE001 - the mail server failed: stop, keep the reason
        Campaign.objects.filter(pk=campaign_id).update(
            send_error=f"{type(exc).__name__}: {exc}"[:300])
        return None
    finally:
        _count_sent(campaign_id, sent=sent, refused=refused)
        if own_connection:
            with contextlib.suppress(Exception):  # closing a broken connection
                connection.close()
    return sent


def _count_sent(campaign_id, *, sent=0, refused=0):
    """The progress counters of a sending campaign (atomic increments, so parallel runs add
    up; a run that dies between a send and this update leaves them short until the
    campaign finishes, when the progress is counted from the recipients)."""
    if sent or refused:
        Campaign.objects.filter(pk=campaign_id).update(
            recipients_sent=F("recipients_sent") + sent,
            recipients_to_send=F("recipients_to_send") - refused,
            recipients_skipped=F("recipients_skipped") + refused)


def _finish(campaign):
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != CampaignStatus.SENDING or _remaining(locked.pk).exists():
            return
        locked.status = CampaignStatus.SENT
        locked.version += 1
        locked.save(update_fields=["status", "version"])
        progress = campaign_progress(locked)
        audit_record(actor=None, organization=locked.organization, action="sales.campaign.sent",
                     obj=locked, after=progress)
        emit_event(type="sales.campaign.sent", organization=locked.organization,
                   aggregate=locked, payload={"name": locked.name, **progress})


def campaign_send(*, campaign_id, batch_size=SEND_BATCH, max_batches=None, connection=None,
                  now=None):
    """Send everything (batch after batch; progress is visible between batches)."""
    batches = 0
    total = 0
    while max_batches is None or batches < max_batches:
        sent = campaign_send_batch(campaign_id=campaign_id, batch_size=batch_size,
                                   connection=connection, now=now)
        if not sent:
            break
        total += sent
        batches += 1
    return total


def campaign_progress(campaign):
    """Counts for the progress bar, polled every 2 s. While preparing and sending: the
    campaign's own counters (members copied of those expected; then sent of to-send, kept by
    the preparation and the sending), no query — a million recipients cost nothing. Once
    done (and for a campaign launched before the counters existed): one aggregate query
    over the recipients, exact. `phase` is "waiting" (draft, scheduled), "preparing",
    "sending" or "done"."""
    expected = max(campaign.recipients_expected, campaign.recipients_prepared)
    prepare = {"prepared": campaign.recipients_prepared, "expected": expected}
    if campaign.status == CampaignStatus.PREPARING:
        percent = min(99, 100 * campaign.recipients_prepared // expected) if expected else 0
        return {"phase": "preparing", "recipients": campaign.recipients_prepared, "skipped": 0,
                "holdout": 0, "to_send": 0, "sent": 0, "percent": percent, **prepare}
    if campaign.status in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
        return {"phase": "waiting", "recipients": 0, "skipped": 0, "holdout": 0,
                "to_send": 0, "sent": 0, "percent": 0, **prepare}
    if campaign.status == CampaignStatus.SENDING and campaign.recipients_prepared:
        to_send = max(campaign.recipients_to_send, 0)
        sent = min(campaign.recipients_sent, to_send)
        return {"phase": "sending", "recipients": campaign.recipients_prepared,
                "skipped": campaign.recipients_skipped, "holdout": campaign.recipients_holdout,
                "to_send": to_send, "sent": sent,
                "percent": round(100 * sent / to_send) if to_send else 0, **prepare}
    row = CampaignRecipient.objects.filter(campaign_id=campaign.pk).aggregate(
        recipients=Count("id"),
        skipped=Count("id", filter=~Q(skipped_reason="")),
        holdout=Count("id", filter=Q(variant__isnull=True, skipped_reason="")),
        to_send=Count("id", filter=Q(variant__isnull=False, skipped_reason="")),
        sent=Count("id", filter=Q(variant__isnull=False, skipped_reason="",
                                  sent_at__isnull=False)),
    )
    row["percent"] = round(100 * row["sent"] / row["to_send"]) if row["to_send"] else (
        100 if campaign.status in (CampaignStatus.SENT, CampaignStatus.COMPLETED) else 0)
    row["phase"] = "sending" if campaign.status == CampaignStatus.SENDING else "done"
    row.update(prepare)
    return row


def variant_counts(campaign):
    """Per variant (None = holdout): recipients, skipped, sent (always 0 for the holdout),
    opened, clicked, replied, unsubscribed — one grouped query."""
    rows = (CampaignRecipient.objects.filter(campaign_id=campaign.pk)
            .values("variant_id").order_by("variant_id")
            .annotate(recipients=Count("id"),
                      skipped=Count("id", filter=~Q(skipped_reason="")),
                      # The holdout's sent_at is its launch time, not a delivery.
                      sent=Count("id", filter=Q(sent_at__isnull=False, skipped_reason="",
                                                variant__isnull=False)),
                      opened=Count("id", filter=Q(opened_at__isnull=False)),
                      clicked=Count("id", filter=Q(clicked_at__isnull=False)),
                      replied=Count("id", filter=Q(replied_at__isnull=False)),
                      unsubscribed=Count("id", filter=Q(unsubscribed_at__isnull=False))))
    return {row.pop("variant_id"): row for row in rows}


def skipped_counts(campaign):
    return dict(CampaignRecipient.objects.filter(campaign_id=campaign.pk)
                .exclude(skipped_reason="").values("skipped_reason").order_by("skipped_reason")
                .annotate(n=Count("id")).values_list("skipped_reason", "n"))


# --- Tracking ----------------------------------------------------------------------------


def recipient_by_token(token):
    if not token or len(token) > 43:
        return None
    return (CampaignRecipient.objects.select_related("campaign__organization", "variant")
            .filter(token=token).first())


def recipient_opened(*, token, now=None):
    """Record the first open (pixel or portal view). True when this was the first."""
    return bool(CampaignRecipient.objects.filter(
        token=token, opened_at__isnull=True, sent_at__isnull=False, variant__isnull=False,
    ).update(opened_at=now or timezone.now()))


def recipient_clicked(*, recipient, index, now=None):
    """The variant's link at `index` (None when there is none: no open redirect); the first
    click (and an open, if none was seen) is recorded."""
    if recipient is None or recipient.variant_id is None or recipient.sent_at is None:
        return None
    links = variant_links(recipient.variant)
    if not 0 <= index < len(links):
        return None
    now = now or timezone.now()
    CampaignRecipient.objects.filter(pk=recipient.pk, clicked_at__isnull=True).update(
        clicked_at=now)
    CampaignRecipient.objects.filter(pk=recipient.pk, opened_at__isnull=True).update(
        opened_at=now)
    return links[index]


def recipient_unsubscribe(*, recipient, now=None, source="link"):
    """Unsubscribe (idempotent): the address goes on the organization's suppression list and
    no campaign mails it again, and the contact's CRM consent is withdrawn
    (`crm.services.contact_email_opt_out`: `email_opt_in` off, audited, on its timeline), so
    every later campaign skips it. Returns True the first time."""
    now = now or timezone.now()
    campaign = recipient.campaign
    organization = campaign.organization
    with transaction.atomic():
        locked = CampaignRecipient.objects.select_for_update().get(pk=recipient.pk)
        first = locked.unsubscribed_at is None
        if first:
            locked.unsubscribed_at = now
            locked.save(update_fields=["unsubscribed_at"])
        if locked.email:
            try:
                with transaction.atomic():
                    EmailSuppression.objects.get_or_create(
                        organization=organization, email=locked.email.lower(),
                        defaults={"reason": "unsubscribed", "created_at": now})
            except IntegrityError:
                pass  # a parallel request suppressed it
        if first:
            contact_email_opt_out(
                organization=organization, contact_id=locked.contact_id,
                reason=campaign.name, source="campaign_unsubscribe")
            audit_record(actor=None, organization=organization,
                         action="sales.campaign.unsubscribed", obj=campaign,
                         after={"recipient_id": locked.pk, "contact_id": locked.contact_id,
                                "source": source})
            emit_event(type="sales.campaign.unsubscribed", organization=organization,
                       aggregate=campaign,
                       payload={"recipient_id": locked.pk, "contact_id": locked.contact_id,
                                "account_id": locked.account_id, "source": source})
    return first


_TOKEN_IN_ADDRESS = re.compile(r"\+([A-Za-z0-9_-]{43})@")
_TOKEN_IN_MSGID = re.compile(r"<campaign\.([A-Za-z0-9_-]{43})@")


def reply_tokens(raw):
    """Recipient tokens a received reply names: the plus tag of a To/Cc/Delivered-To address,
    or the campaign Message-ID in In-Reply-To/References."""
    if isinstance(raw, str):
        raw = raw.encode()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    tokens = []
    addresses = getaddresses([str(value) for name in ("To", "Cc", "Delivered-To",
                                                       "X-Original-To")
                              for value in message.get_all(name, [])])
    for _name, address in addresses:
        tokens += _TOKEN_IN_ADDRESS.findall(address + "@" if "@" not in address else address)
    for name in ("In-Reply-To", "References"):
        for value in message.get_all(name, []):
            tokens += _TOKEN_IN_MSGID.findall(str(value))
    return list(dict.fromkeys(tokens))


def campaign_reply_receive(*, raw, organization=None, now=None):
    """Mark the recipients a received reply answers as replied (first reply counts). With
    `organization`, only its campaigns' recipients. Returns the recipients marked."""
    now = now or timezone.now()
    marked = []
    for token in reply_tokens(raw):
        recipient = recipient_by_token(token)
        if recipient is None or (organization is not None
                                 and recipient.campaign.organization_id != organization.pk):
            continue
        with transaction.atomic():
            if CampaignRecipient.objects.filter(pk=recipient.pk,
                                                replied_at__isnull=True).update(replied_at=now):
                emit_event(type="sales.campaign.replied",
                           organization=recipient.campaign.organization,
                           aggregate=recipient.campaign,
                           payload={"recipient_id": recipient.pk,
                                    "contact_id": recipient.contact_id,
                                    "account_id": recipient.account_id})
                marked.append(recipient)
    return marked


# --- Portal offers -----------------------------------------------------------------------


def portal_offers_for(buyer):
    """The offers a buyer organization is shown: one per campaign (its first recipient's
    variant), from portal-offer campaigns that are out."""
    rows = (CampaignRecipient.objects
            .filter(buyer=buyer, sent_at__isnull=False, variant__isnull=False,
                    skipped_reason="", campaign__channel=CampaignChannel.PORTAL_OFFER,
                    campaign__status__in=(CampaignStatus.SENDING, CampaignStatus.SENT,
                                          CampaignStatus.COMPLETED))
            .select_related("variant", "campaign__organization")
            .order_by("-campaign_id", "id")[:200])
    offers = {}
    for row in rows:
        offers.setdefault(row.campaign_id, row)
    return list(offers.values())


def portal_offer_unseen_count(buyer):
    return (CampaignRecipient.objects
            .filter(buyer=buyer, sent_at__isnull=False, variant__isnull=False,
                    opened_at__isnull=True, skipped_reason="",
                    campaign__channel=CampaignChannel.PORTAL_OFFER,
                    campaign__status__in=(CampaignStatus.SENDING, CampaignStatus.SENT,
                                          CampaignStatus.COMPLETED))
            .values("campaign_id").distinct().count())


def portal_offers_seen(*, buyer, campaign_ids, now=None):
    """The buyer saw these offers: their recipients (of this buyer) count as opened."""
    return CampaignRecipient.objects.filter(
        buyer=buyer, campaign_id__in=list(campaign_ids), opened_at__isnull=True,
        sent_at__isnull=False, variant__isnull=False, skipped_reason="",
    ).update(opened_at=now or timezone.now())


def portal_offer_click(*, buyer, recipient, now=None):
    """A buyer user followed an offer: its recipients of this buyer count as clicked; returns
    the variant's offer link (None if the offer is not this buyer's)."""
    if recipient is None or recipient.buyer_id != buyer.pk or recipient.variant_id is None \
            or recipient.sent_at is None or recipient.skipped_reason \
            or recipient.campaign.channel != CampaignChannel.PORTAL_OFFER \
            or not recipient.variant.offer_url:
        return None
    now = now or timezone.now()
    base = CampaignRecipient.objects.filter(buyer=buyer, campaign_id=recipient.campaign_id,
                                            variant__isnull=False, sent_at__isnull=False,
                                            skipped_reason="")
    base.filter(clicked_at__isnull=True).update(clicked_at=now)
    base.filter(opened_at__isnull=True).update(opened_at=now)
    return recipient.variant.offer_url
