"""Satisfaction surveys: configuration, invitations, answers and follow-up cases.

Rules (see docs/service.md, "Satisfaction surveys"):

- A survey's kind fixes its scale (CSAT 1–5, NPS 0–10, CES 1–7). The *good* threshold is
  explicit and required (no default) and lies on the scale; so does the follow-up threshold.
  The kind cannot change once invitations exist (their answers are on the old scale).
- An invitation is a link with a token (``secrets.token_urlsafe``); only its SHA-256 is
  stored, like the organization invitations of ``jalin.tenancy``. It expires after the
  survey's ``invitation_valid_days``; ``invitations_expire`` (housekeeping, idempotent) marks
  it expired, and an expired link cannot be answered even before the job ran.
- One CSAT invitation per case and survey (database constraint: a repeated
  ``service.case.resolved`` delivery creates nothing); one periodic invitation per survey ×
  account × period (constraint again).
- One answer per invitation: the invitation row is locked while answering, and the response
  is a OneToOne on the invitation; a second submit is told "already answered".
- Nobody rates a case they handled themselves: a signed-in user who is the case's assignee
  or wrote a staff message on it is refused.
- The score must be a whole number on the scale; there is no default score.
- A score at or below ``follow_up_at_or_below``, or any comment when
  ``follow_up_on_comment``, opens a follow-up case (``channel=survey``) in the answer's
  transaction, and ``service.survey.answered`` is emitted in it.
"""

import datetime
import hashlib
import logging
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.core.notifications import notify
from jalin.core.tasks import send_email
from jalin.tenancy.services import StaleVersion, TenancyError

from . import survey_stats
from .models import (
    CaseChannel,
    CaseKind,
    CaseMessage,
    InvitationStatus,
    Survey,
    SurveyInvitation,
    SurveyKind,
    SurveyResponse,
    SurveyTrigger,
)

logger = logging.getLogger("jalin.service.surveys")

MAX_COMMENT = 5000
MAX_VALID_DAYS = 365
MAX_PERIOD_DAYS = 3650
PERIODIC_BATCH = 500
EDITABLE_FIELDS = ("name", "question", "trigger", "good_threshold", "follow_up_at_or_below",
                   "follow_up_on_comment", "invitation_valid_days", "period_days",
                   "is_active", "kind")


class SurveyError(TenancyError):
    """A survey request that cannot be carried out; the message is for the person.

    Codes the pages and the API map to statuses: ``forbidden``/``self_rating`` 403,
    ``not_found`` 404, ``already_answered`` 409, ``expired`` 410, anything else 400/422."""


def hash_token(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


# --- Configuration -------------------------------------------------------------------------


def _whole(value, *, field, low, high, required=True):
    if value is None or value == "":
        if required:
            raise SurveyError(_("This field is required."), code="required", field=field)
        return None
    if isinstance(value, bool):
        value = None
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        raise SurveyError(_("Enter a whole number from %(low)s to %(high)s.") % {
            "low": low, "high": high}, code="out_of_range", field=field)
    return number


def _clean(values):
    """Validate a full set of survey fields; returns them cleaned. Raises SurveyError."""
    kind = values.get("kind")
    if kind not in SurveyKind.values:
        raise SurveyError(_("Choose CSAT, NPS or CES."), code="invalid_kind", field="kind")
    low, high = Survey(kind=kind).scale
    name = (values.get("name") or "").strip()
    if not name:
        raise SurveyError(_("Give the survey a name."), code="required", field="name")
    if len(name) > 120:
        raise SurveyError(_("At most %(max)s characters.") % {"max": 120}, code="too_long",
                          field="name")
    question = (values.get("question") or "").strip()
    if not question:
        raise SurveyError(_("Write the question the customer answers."), code="required",
                          field="question")
    if len(question) > 300:
        raise SurveyError(_("At most %(max)s characters.") % {"max": 300}, code="too_long",
                          field="question")
    trigger = values.get("trigger")
    if trigger not in SurveyTrigger.values:
        raise SurveyError(_("Choose when the survey is sent."), code="invalid_trigger",
                          field="trigger")
    good = values.get("good_threshold")
    if good is None or good == "":
        raise SurveyError(
            _("Say from which score an answer counts as good (%(low)s–%(high)s); there is no "
              "default.") % {"low": low, "high": high}, code="required", field="good_threshold")
    good = _whole(good, field="good_threshold", low=low, high=high)
    follow_up = _whole(values.get("follow_up_at_or_below"), field="follow_up_at_or_below",
                       low=low, high=high, required=False)
    valid_days = _whole(values.get("invitation_valid_days", 14), field="invitation_valid_days",
                        low=1, high=MAX_VALID_DAYS)
    period_days = None
    if trigger == SurveyTrigger.PERIODIC:
        period_days = _whole(values.get("period_days"), field="period_days", low=1,
                             high=MAX_PERIOD_DAYS)
    elif values.get("period_days") not in (None, ""):
        raise SurveyError(_("Only periodic surveys have a period."), code="not_periodic",
                          field="period_days")
    return {"name": name, "kind": kind, "question": question, "trigger": trigger,
            "good_threshold": good, "follow_up_at_or_below": follow_up,
            "follow_up_on_comment": bool(values.get("follow_up_on_comment", False)),
            "invitation_valid_days": valid_days, "period_days": period_days,
            "is_active": bool(values.get("is_active", True))}


def _survey_snapshot(survey):
    return {field: getattr(survey, field) for field in EDITABLE_FIELDS}


def _save_unique(survey, *, create):
    try:
        with transaction.atomic():
            if create:
                survey.save(force_insert=True)
            else:
                survey.save()
    except IntegrityError as exc:
        raise SurveyError(_("A survey with this name already exists."), code="duplicate_name",
                          field="name") from exc


def survey_create(*, organization, actor, **values):
    """Create a survey. Required: name, kind, question, trigger, good_threshold (and
    period_days for a periodic survey)."""
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise SurveyError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown")
    cleaned = _clean(values)
    with transaction.atomic():
        survey = Survey(organization=organization, **cleaned)
        _save_unique(survey, create=True)
        audit_record(actor=actor, organization=organization, action="service.survey.created",
                     obj=survey, after=_survey_snapshot(survey))
        emit_event(type="service.survey.created", organization=organization, aggregate=survey,
                   actor=actor, payload={"survey_id": survey.pk, "kind": survey.kind,
                                         "trigger": survey.trigger})
    return survey


def survey_update(*, survey, actor, version=None, **changes):
    """Change a survey's settings (the full set is validated again). The kind is fixed once
    invitations exist; a new good threshold applies to answers given from now on."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise SurveyError(_("Unknown fields: %s") % ", ".join(sorted(unknown)), code="unknown")
    with transaction.atomic():
        locked = Survey.objects.select_for_update().get(pk=survey.pk)
        if version is not None and locked.version != version:
            raise StaleVersion()
        before = _survey_snapshot(locked)
        merged = {**before, **changes}
        if merged["trigger"] != SurveyTrigger.PERIODIC and "period_days" not in changes:
            merged["period_days"] = None
        cleaned = _clean(merged)
        if cleaned["kind"] != locked.kind and locked.invitations.exists():
            raise SurveyError(_("The kind cannot change once invitations were sent: its "
                                "answers are on the old scale. Create a new survey."),
                              code="kind_locked", field="kind")
        for field, value in cleaned.items():
            setattr(locked, field, value)
        locked.version += 1
        _save_unique(locked, create=False)
        after = _survey_snapshot(locked)
        changed = {field: after[field] for field in after if after[field] != before[field]}
        audit_record(actor=actor, organization=locked.organization,
                     action="service.survey.updated", obj=locked,
                     before={field: before[field] for field in changed}, after=changed)
        emit_event(type="service.survey.updated", organization=locked.organization,
                   aggregate=locked, actor=actor,
                   payload={"survey_id": locked.pk, "changed": sorted(changed)})
    return locked


# --- Invitations ---------------------------------------------------------------------------


def answer_path(token):
    return reverse("service:survey_answer_public", kwargs={"token": token})


def answer_url(token, *, base_url=None):
    base = settings.JALIN_SITE_URL if base_url is None else base_url
    return (base or "").rstrip("/") + answer_path(token)


def _invitation_payload(invitation):
    return {"invitation_id": invitation.pk, "survey_id": invitation.survey_id,
            "survey_kind": invitation.survey.kind, "case_id": invitation.case_id,
            "account_id": invitation.account_id, "buyer_id": invitation.buyer_id,
            "period_start": invitation.period_start.isoformat()
            if invitation.period_start else None}


def _announce(invitation, token, *, base_url):
    """E-mail the link (task row in this transaction) and ring the portal user's bell."""
    survey = invitation.survey
    organization = survey.organization
    values = {"supplier": organization.name, "question": survey.question,
              "days": survey.invitation_valid_days}
    subject = _("%(supplier)s asks: how did we do?") % values
    link = answer_url(token, base_url=base_url)
    if invitation.recipient_email:
        body = _("%(question)s\n\nAnswer here (one click per score, about a minute):\n%(link)s"
                 "\n\nThe link is valid for %(days)s days.") % {**values, "link": link}
        send_email.enqueue(to=[invitation.recipient_email], subject=subject[:200], body=body)
    if invitation.recipient_user_id and invitation.buyer_id:
        try:
            portal_url = reverse("service:survey_portal_answer", kwargs={"pk": invitation.pk})
        except Exception:  # noqa: BLE001 - the portal page is optional for the bell
            portal_url = ""
        notify(organization=invitation.buyer, user=invitation.recipient_user,
               kind="survey_invitation", title=subject, body=survey.question,
               url=portal_url, key=f"survey-invitation:{invitation.pk}")


def invitation_create(*, survey, now=None, case=None, account=None, contact=None, buyer=None,
                      recipient_user=None, recipient_email="", period_start=None, actor=None,
                      base_url=None):
    """Create and announce one invitation. Returns (invitation, raw token), or (None, None)
    when the survey already has the invitation for this case or this account's period (the
    unique constraints decide, so two workers racing create exactly one)."""
    now = now or timezone.now()
    recipient_email = (recipient_email or "").strip().lower()
    token = new_token()
    invitation = SurveyInvitation(
        organization_id=survey.organization_id, survey=survey, token_hash=hash_token(token),
        case=case, account=account, contact=contact, buyer=buyer,
        recipient_user=_user(recipient_user), recipient_email=recipient_email,
        status=InvitationStatus.SENT, sent_at=now, period_start=period_start,
        sent_by=_user(actor),
        expires_at=now + datetime.timedelta(days=survey.invitation_valid_days))
    with transaction.atomic():
        try:
            with transaction.atomic():
                invitation.save(force_insert=True)
        except IntegrityError:
            return None, None
        audit_record(actor=actor, organization=survey.organization,
                     action="service.survey.invited", obj=invitation,
                     after={"survey_id": survey.pk, "case_id": invitation.case_id,
                            "account_id": invitation.account_id,
                            "recipient_email": recipient_email})
        emit_event(type="service.survey.invited", organization=survey.organization,
                   aggregate=invitation, actor=actor, payload=_invitation_payload(invitation))
        _announce(invitation, token, base_url=base_url)
    return invitation, token


def _case_recipient(case):
    """(portal user, e-mail) a case's survey goes to: its requester and/or contact."""
    user = case.requester if case.requester_id and case.requester.is_active else None
    email = case.requester_email or ""
    if not email and case.contact_id and case.contact.email:
        email = case.contact.email
    if not email and user is not None:
        email = user.email or ""
    return user, email


def invite_for_case(*, case, now=None, base_url=None):
    """One invitation per active case-resolved survey of the case's organization (none when
    the case has nobody to ask). Returns the invitations created now."""
    surveys = list(Survey.objects.filter(organization_id=case.organization_id, is_active=True,
                                         trigger=SurveyTrigger.CASE_RESOLVED)
                   .select_related("organization").order_by("pk"))
    if not surveys:
        return []
    user, email = _case_recipient(case)
    if user is None and not email:
        return []
    created = []
    for survey in surveys:
        invitation, _token = invitation_create(
            survey=survey, now=now, case=case, account=case.account, contact=case.contact,
            buyer=case.buyer, recipient_user=user, recipient_email=email, base_url=base_url)
        if invitation is not None:
            created.append(invitation)
    return created


def on_case_resolved(event):
    """Consumer of ``service.case.resolved``: invite the case's requester. A repeated delivery
    creates nothing new (one invitation per case and survey)."""
    from .models import Case

    case_id = (event.payload or {}).get("case_id")
    if case_id is None and event.aggregate_type == "service.case":
        case_id = event.aggregate_id
    if case_id is None:
        return
    case = (Case.objects.filter(pk=case_id, organization_id=event.organization_id)
            .select_related("requester", "contact", "account", "buyer").first())
    if case is None:
        return
    invite_for_case(case=case)


def _decision_maker(account):
    """The contact a relationship survey goes to: a decision maker with an e-mail, else any
    contact of the account with an e-mail (oldest first), else None."""
    from jalin.crm.models import Contact, RelationshipRole

    contacts = (Contact.objects.filter(organization_id=account.organization_id,
                                       account=account, archived_at__isnull=True)
                .exclude(email=""))
    return (contacts.filter(relationship_role=RelationshipRole.DECISION_MAKER)
            .order_by("pk").first() or contacts.order_by("pk").first())


def invitation_send_manual(*, survey, account, actor, contact=None, base_url=None, now=None):
    """Send a survey to a customer account by hand (to `contact`, else its decision maker).
    The account's portal (its hub buyer) sees it too. Raises SurveyError when the survey is
    inactive or nobody can be asked."""
    if survey.organization_id != account.organization_id or account.archived_at is not None:
        raise SurveyError(_("No such account."), code="not_found", field="account_id")
    if not survey.is_active:
        raise SurveyError(_("This survey is not active."), code="inactive", field="survey")
    if contact is not None and (contact.account_id != account.pk
                                or contact.organization_id != survey.organization_id):
        raise SurveyError(_("This contact is not one of the account's."), code="not_found",
                          field="contact_id")
    contact = contact or _decision_maker(account)
    email = contact.email if contact is not None else ""
    if not email and account.hub_organization_id is None:
        raise SurveyError(_("Nobody to ask: the account has no contact with an e-mail and is "
                            "not a buyer on the hub."), code="no_recipient", field="account_id")
    invitation, token = invitation_create(
        survey=survey, now=now, account=account, contact=contact,
        buyer=account.hub_organization, recipient_email=email, actor=actor, base_url=base_url)
    return invitation, token


def period_start_for(survey, day):
    """The first day of the period of `survey` (every `period_days` from the day it was
    created, in local time) that contains `day`."""
    anchor = timezone.localdate(survey.created_at)
    if day < anchor:
        return anchor
    periods = (day - anchor).days // survey.period_days
    return anchor + datetime.timedelta(days=periods * survey.period_days)


def _periodic_candidates(survey, period_start):
    from jalin.crm.models import Account, AccountStatus, Contact

    has_email = Exists(Contact.objects.filter(account=OuterRef("pk"), archived_at__isnull=True)
                       .exclude(email=""))
    asked = Exists(SurveyInvitation.objects.filter(survey=survey, account=OuterRef("pk"),
                                                   period_start=period_start))
    return (Account.objects.filter(organization_id=survey.organization_id,
                                   archived_at__isnull=True)
            .exclude(status=AccountStatus.FORMER)
            .filter(Q(hub_organization__isnull=False)
                    | Q(status=AccountStatus.CUSTOMER) & has_email)
            .filter(~asked).select_related("hub_organization").order_by("pk"))


def surveys_send_periodic(*, now=None, batch=PERIODIC_BATCH):
    """Housekeeping: invite every customer account (linked to a hub buyer, or a customer
    with a contact e-mail) to each active periodic survey once per period. Idempotent per
    survey × account × period; at most `batch` invitations per survey and run."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    sent = 0
    surveys = (Survey.objects.filter(is_active=True, trigger=SurveyTrigger.PERIODIC,
                                     period_days__isnull=False)
               .select_related("organization").order_by("pk"))
    for survey in surveys:
        period_start = period_start_for(survey, today)
        for account in _periodic_candidates(survey, period_start)[:batch]:
            contact = _decision_maker(account)
            email = contact.email if contact is not None else ""
            if not email and account.hub_organization_id is None:
                continue
            invitation, _token = invitation_create(
                survey=survey, now=now, account=account, contact=contact,
                buyer=account.hub_organization, recipient_email=email,
                period_start=period_start)
            sent += invitation is not None
    return {"invited": sent} if sent else None


def invitations_expire(*, now=None):
    """Housekeeping: sent invitations past their expiry become expired. Idempotent."""
    now = now or timezone.now()
    expired = SurveyInvitation.objects.filter(status=InvitationStatus.SENT,
                                              expires_at__lt=now).update(
        status=InvitationStatus.EXPIRED)
    return {"expired": expired} if expired else None


def invitation_cancel(*, invitation, actor):
    """Withdraw an unanswered invitation (its link stops working)."""
    with transaction.atomic():
        locked = SurveyInvitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.status != InvitationStatus.SENT:
            raise SurveyError(_("Only a sent, unanswered invitation can be withdrawn."),
                              code="not_sent", field="status")
        locked.status = InvitationStatus.CANCELLED
        locked.save(update_fields=["status"])
        audit_record(actor=actor, organization=locked.organization,
                     action="service.survey.invitation_cancelled", obj=locked)
    return locked


def invitation_by_token(token):
    """The invitation a raw token opens (any status), or None."""
    if not token or len(token) > 200:
        return None
    return (SurveyInvitation.objects.filter(token_hash=hash_token(token))
            .select_related("survey", "survey__organization", "case").first())


# --- Answering -----------------------------------------------------------------------------


def handled_case(user, case):
    """Whether `user` handled `case` (its assignee, or the author of a staff message)."""
    if case is None or not getattr(user, "is_authenticated", False):
        return False
    if case.assignee_id == user.pk:
        return True
    return CaseMessage.objects.filter(case=case, from_staff=True, author=user).exists()


def invitation_state(invitation, *, now=None):
    """"open", "answered", "expired" or "cancelled" — as the answer page sees it."""
    now = now or timezone.now()
    if invitation.status == InvitationStatus.ANSWERED:
        return "answered"
    if invitation.status == InvitationStatus.CANCELLED:
        return "cancelled"
    if invitation.status == InvitationStatus.EXPIRED or invitation.expires_at < now:
        return "expired"
    return "open"


def _check_score(survey, score):
    low, high = survey.scale
    if score is None or score == "":
        raise SurveyError(_("Choose a score."), code="required", field="score")
    return _whole(score, field="score", low=low, high=high)


def answer_payload(response):
    return {"response_id": response.pk, "survey_id": response.survey_id,
            "survey_kind": response.survey.kind, "score": response.score,
            "normalized": str(response.normalized), "good": response.good,
            "has_comment": bool(response.comment), "comment": response.comment[:1000],
            "case_id": response.case_id, "account_id": response.account_id,
            "follow_up_case_id": response.follow_up_case_id,
            "invitation_id": response.invitation_id}


def _open_follow_up(*, survey, invitation, response, score, comment, user, now, low_score):
    from . import cases

    values = {"survey": survey.name, "score": score, "high": survey.scale[1]}
    subject = (_("Low score %(score)s/%(high)s on %(survey)s") if low_score
               else _("Comment on %(survey)s (%(score)s/%(high)s)")) % values
    origin = invitation.case
    description = _("Survey answer: %(score)s of %(high)s.") % values
    if origin is not None:
        description += "\n" + _("About case #%(number)s: %(subject)s") % {
            "number": origin.number, "subject": origin.subject}
    if comment:
        description += "\n\n" + comment
    email = invitation.recipient_email
    try:
        validate_email(email)
    except ValidationError:
        email = ""
    requester = user if (user is not None and invitation.buyer_id and user.memberships.filter(
        organization_id=invitation.buyer_id, is_active=True).exists()) else (
        invitation.recipient_user)
    return cases.case_open(
        organization=survey.organization, subject=subject[:200],
        kind=CaseKind.COMPLAINT if low_score else CaseKind.FEEDBACK,
        channel=CaseChannel.SURVEY, description=description, actor=None,
        account=invitation.account, contact=invitation.contact, requester=requester,
        requester_email=email, follow_up_of=origin, now=now)


def survey_answer(*, invitation, score, comment="", user=None, now=None):
    """Record the one answer to `invitation`. `user` is the signed-in person (None on the
    public link without a session). Raises SurveyError: ``self_rating`` (the user handled the
    case), ``required``/``out_of_range`` (score), ``already_answered``, ``expired``,
    ``cancelled``. Nothing is written on error."""
    now = now or timezone.now()
    survey = invitation.survey
    score = _check_score(survey, score)
    comment = (comment or "").strip()
    if len(comment) > MAX_COMMENT:
        raise SurveyError(_("At most %(max)s characters.") % {"max": MAX_COMMENT},
                          code="too_long", field="comment")
    user = user if getattr(user, "is_authenticated", False) else None
    if handled_case(user, invitation.case):
        raise SurveyError(_("You handled this case yourself, so you cannot rate it. The "
                            "customer's answer is what counts."), code="self_rating")
    low, high = survey.scale
    try:
        with transaction.atomic():
            locked = (SurveyInvitation.objects.select_for_update(of=("self",))
                      .select_related("survey", "survey__organization", "case", "account",
                                      "contact", "recipient_user")
                      .get(pk=invitation.pk))
            state = invitation_state(locked, now=now)
            if state == "answered" or SurveyResponse.objects.filter(invitation=locked).exists():
                raise SurveyError(_("This survey was already answered. Thank you!"),
                                  code="already_answered")
            if state == "expired":
                raise SurveyError(_("This survey link has expired."), code="expired")
            if state == "cancelled":
                raise SurveyError(_("This survey was withdrawn."), code="cancelled")
            survey = locked.survey
            response = SurveyResponse.objects.create(
                organization_id=locked.organization_id, invitation=locked, survey=survey,
                score=score, normalized=survey_stats.normalized(score, low=low, high=high),
                good=score >= survey.good_threshold, comment=comment, case=locked.case,
                account=locked.account, answered_by=user, created_at=now)
            locked.status = InvitationStatus.ANSWERED
            locked.answered_at = now
            locked.save(update_fields=["status", "answered_at"])
            low_score = (survey.follow_up_at_or_below is not None
                         and score <= survey.follow_up_at_or_below)
            if low_score or (survey.follow_up_on_comment and comment):
                response.follow_up_case = _open_follow_up(
                    survey=survey, invitation=locked, response=response, score=score,
                    comment=comment, user=user, now=now, low_score=low_score)
                response.save(update_fields=["follow_up_case"])
            audit_record(actor=user, organization=survey.organization,
                         action="service.survey.answered", obj=response,
                         after={"score": score, "good": response.good,
                                "has_comment": bool(comment),
                                "follow_up_case_id": response.follow_up_case_id})
            emit_event(type="service.survey.answered", organization=survey.organization,
                       aggregate=response, actor=user, payload=answer_payload(response))
    except IntegrityError as exc:
        # The OneToOne lost a race the lock did not see (SQLite has no row locks).
        raise SurveyError(_("This survey was already answered. Thank you!"),
                          code="already_answered") from exc
    return response
