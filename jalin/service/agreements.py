"""Agreement portfolio: contracts, SLAs, OLAs and underpinning contracts.

Parties (`_clean_parties`):

- contract / SLA: a CRM `account` (the customer); `buyer` is set from the account's hub
  organization, which lets that customer read and sign the agreement in the portal;
- OLA: an internal `team`;
- underpinning contract: a third party (`counterparty`, free text).

Numbers are AGR-n per organization, taken from the organization's "service.agreement" number
sequence (`jalin.core.numbering`) under a row lock inside the creating transaction: two
agreements created at the same moment never share a number.

Lifecycle (`TRANSITIONS`, staff with `service.edit`)::

    draft ⇄ negotiation → pending signature → (both parties signed) → active
    pending signature → negotiation (changes needed; also what a declined signature does)
    active ⇄ suspended;  any state before expiry → terminated
    active / suspended → expired (only by the housekeeping job, the day after `ends_on`)

Signatures are rows (`AgreementSignature`: party, who, decision, when, comment). Each time the
agreement goes to "pending signature" a new round starts (`signature_round`); each party answers
once per round. **The agreement becomes active when both the provider and the customer have
signed in the current round.** The provider side is signed by the supplier's staff holding
`service.edit`. The customer side is signed by the buyer organization's `buyer_approver` or
`org_admin` in the portal when the agreement has a `buyer`; an agreement without one (an OLA,
an underpinning contract, a customer not on the hub) has the other side's signature recorded by
the supplier's staff with the signer's name. A decline (with a reason) sends the agreement back
to negotiation. Every status change is an `AgreementStatusChange` row, an audit row and a
`service.agreement.status_changed` event.

Reminders (`agreement_reminders_run`, a housekeeping job): the owner is notified
`REVIEW_REMINDER_DAYS` days before `review_on` and `renewal_notice_days` before `ends_on`,
exactly once per agreement × kind × date (`AgreementReminder` is unique on them). Agreements past
their `ends_on` are expired by the same job.
"""

import datetime
import hashlib
import os
import uuid
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from jalin.core import numbering
from jalin.core.audit import audit_record
from jalin.core.events import emit_event
from jalin.core.notifications import notify
from jalin.crm.documents.services import detect_content_type, is_executable
from jalin.crm.models import Account
from jalin.tenancy.models import Membership
from jalin.tenancy.roles import SERVICE_EDIT, Role, has_perm
from jalin.tenancy.services import StaleVersion

from .models import (
    Agreement,
    AgreementDocument,
    AgreementKind,
    AgreementReminder,
    AgreementReminderKind,
    AgreementSignature,
    AgreementStatus,
    AgreementStatusChange,
    Service,
    SignatureDecision,
    SlaPolicy,
    Team,
)
from .service_catalogue import PortfolioError

A = AgreementStatus
PROVIDER, CUSTOMER = "provider", "customer"
PARTIES = (PROVIDER, CUSTOMER)
REVIEW_REMINDER_DAYS = 14
AGREEMENT_NUMBERS = "service.agreement"  # the jalin.core.numbering scope (AGR-n)
CUSTOMER_SIGNER_ROLES = (Role.BUYER_APPROVER, Role.ORG_ADMIN)
CUSTOMER_KINDS = (AgreementKind.CONTRACT, AgreementKind.SLA)
FINAL = (A.EXPIRED, A.TERMINATED)
# Before they are signed, every term may change; afterwards only the running details.
TERMS_OPEN = (A.DRAFT, A.NEGOTIATION)
RUNNING_FIELDS = ("owner", "review_on", "renewal_notice_days", "notes")

TRANSITIONS = {
    A.DRAFT: (A.NEGOTIATION, A.PENDING_SIGNATURE, A.TERMINATED),
    A.NEGOTIATION: (A.DRAFT, A.PENDING_SIGNATURE, A.TERMINATED),
    A.PENDING_SIGNATURE: (A.NEGOTIATION, A.TERMINATED),
    A.ACTIVE: (A.SUSPENDED, A.TERMINATED),
    A.SUSPENDED: (A.ACTIVE, A.TERMINATED),
    A.EXPIRED: (),
    A.TERMINATED: (),
}

FIELDS = ("kind", "title", "account", "team", "counterparty", "services", "sla_policy",
          "required_attainment_percent", "availability_percent", "rto_minutes", "rpo_minutes",
          "maintenance_window", "starts_on", "ends_on", "review_on", "renewal_notice_days",
          "owner", "notes")

DOCUMENT_TYPES = {
    "application/pdf", "image/png", "image/jpeg", "text/plain", "text/csv",
    "application/msword", "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
}
# Office files are zip containers: accepted as such when their name says what they are.
ZIP_EXTENSIONS = {".docx", ".xlsx", ".odt", ".ods"}
DOCUMENT_EXTENSIONS = {".pdf", ".png", ".jpg", ".jpeg", ".txt", ".csv", ".doc", ".xls"} | (
    ZIP_EXTENSIONS)


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


def agreement_label(agreement):
    return f"AGR-{agreement.number}"


def payload(agreement):
    return {"agreement_id": agreement.pk, "number": agreement.number, "kind": agreement.kind,
            "status": agreement.status, "account_id": agreement.account_id,
            "buyer_id": agreement.buyer_id}


def allowed_targets(agreement):
    return list(TRANSITIONS.get(agreement.status, ()))


def next_agreement_number(organization_id):
    """Lock the organization's agreement sequence and take the next number (inside the
    transaction that creates the agreement)."""
    return numbering.next_number(organization=organization_id, scope=AGREEMENT_NUMBERS)


# --- Checking input ------------------------------------------------------------------------


def _text(value, *, field, max_length, required=False):
    value = (value or "").strip()
    if required and not value:
        raise PortfolioError(_("This field is required."), code="required", field=field)
    if len(value) > max_length:
        raise PortfolioError(_("At most %(n)d characters.") % {"n": max_length},
                             code="too_long", field=field)
    return value


def _decimal(value, *, field, low, high, required=False):
    if value in (None, ""):
        if required:
            raise PortfolioError(_("This field is required."), code="required", field=field)
        return None
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError) as exc:
        raise PortfolioError(_("Enter a number."), code="invalid", field=field) from exc
    if not number.is_finite() or not low <= number <= high:
        raise PortfolioError(_("Enter a number between %(low)s and %(high)s.") % {
            "low": low, "high": high}, code="out_of_range", field=field)
    return number.quantize(Decimal("0.001"))


def _whole(value, *, field, low=0, high=10_000_000):
    if value in (None, ""):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise PortfolioError(_("Enter a whole number."), code="invalid", field=field) from exc
    if not low <= number <= high:
        raise PortfolioError(_("Enter a whole number between %(low)s and %(high)s.") % {
            "low": low, "high": high}, code="out_of_range", field=field)
    return number


def _date(value, *, field):
    if value in (None, ""):
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise PortfolioError(_("Enter a date (YYYY-MM-DD)."), code="invalid",
                             field=field) from exc


def _owned(organization, obj, *, field, message):
    if obj is not None and obj.organization_id != organization.pk:
        raise PortfolioError(message, code="not_found", field=field)
    return obj


def _clean(organization, data):
    """Validate the fields given in `data`; returns (fields, services or None)."""
    unknown = set(data) - set(FIELDS)
    if unknown:
        raise PortfolioError(_("Unknown fields: %s") % ", ".join(sorted(unknown)),
                             code="unknown")
    out = {}
    if "kind" in data:
        if data["kind"] not in AgreementKind.values:
            raise PortfolioError(_("Choose a kind of agreement."), code="invalid", field="kind")
        out["kind"] = data["kind"]
    if "title" in data:
        out["title"] = _text(data["title"], field="title", max_length=200, required=True)
    for name in ("counterparty", "maintenance_window"):
        if name in data:
            out[name] = _text(data[name], field=name, max_length=200)
    if "notes" in data:
        out["notes"] = _text(data["notes"], field="notes", max_length=20_000)
    if "account" in data:
        out["account"] = _owned(organization, data["account"], field="account",
                                message=_("No such customer."))
    if "team" in data:
        out["team"] = _owned(organization, data["team"], field="team",
                             message=_("No such team."))
    if "sla_policy" in data:
        policy = _owned(organization, data["sla_policy"], field="sla_policy",
                        message=_("No such SLA policy."))
        if policy is not None and policy.archived_at is not None:
            raise PortfolioError(_("This SLA policy is archived."), code="archived",
                                 field="sla_policy")
        out["sla_policy"] = policy
    if "required_attainment_percent" in data:
        out["required_attainment_percent"] = _decimal(
            data["required_attainment_percent"], field="required_attainment_percent",
            low=Decimal(0), high=Decimal(100), required=True).quantize(Decimal("0.01"))
    if "availability_percent" in data:
        out["availability_percent"] = _decimal(data["availability_percent"],
                                               field="availability_percent", low=Decimal(0),
                                               high=Decimal(100))
    for name in ("rto_minutes", "rpo_minutes"):
        if name in data:
            out[name] = _whole(data[name], field=name)
    if "renewal_notice_days" in data:
        days = _whole(data["renewal_notice_days"], field="renewal_notice_days", high=3650)
        out["renewal_notice_days"] = 0 if days is None else days
    for name in ("starts_on", "ends_on", "review_on"):
        if name in data:
            out[name] = _date(data[name], field=name)
    if "owner" in data:
        owner = data["owner"]
        if owner is not None and not owner.memberships.filter(organization=organization,
                                                              is_active=True).exists():
            raise PortfolioError(_("The owner must be a member of your organization."),
                                 code="not_found", field="owner")
        out["owner"] = owner
    services = None
    if "services" in data:
        services = list(data["services"] or [])
        for service in services:
            _owned(organization, service, field="services", message=_("No such service."))
    return out, services


def _check_whole(agreement):
    """Rules across fields, on the agreement as it would be saved."""
    if agreement.kind in CUSTOMER_KINDS:
        if agreement.account_id is None:
            raise PortfolioError(_("A contract or SLA names the customer."), code="required",
                                 field="account")
    elif agreement.kind == AgreementKind.OLA:
        if agreement.team_id is None:
            raise PortfolioError(_("An OLA names the internal team."), code="required",
                                 field="team")
    elif not agreement.counterparty:
        raise PortfolioError(_("An underpinning contract names the third party."),
                             code="required", field="counterparty")
    if agreement.starts_on and agreement.ends_on and agreement.ends_on < agreement.starts_on:
        raise PortfolioError(_("The agreement cannot end before it starts."),
                             code="invalid", field="ends_on")


def _apply_parties(agreement):
    """Keep only the party the kind names; the buyer follows the customer account."""
    if agreement.kind in CUSTOMER_KINDS:
        agreement.team = None
        agreement.counterparty = ""
        account = agreement.account
        agreement.buyer_id = account.hub_organization_id if account is not None else None
    else:
        agreement.account = None
        agreement.buyer = None
        if agreement.kind == AgreementKind.OLA:
            agreement.counterparty = ""
        else:
            agreement.team = None


def _history(agreement, *, from_status, actor, comment="", now=None):
    AgreementStatusChange.objects.create(agreement=agreement, from_status=from_status,
                                         to_status=agreement.status, changed_by=_user(actor),
                                         comment=(comment or "")[:2000],
                                         changed_at=now or timezone.now())
    audit_record(actor=actor, organization=agreement.organization,
                 action="service.agreement.status_changed", obj=agreement,
                 before={"status": from_status} if from_status else None,
                 after={"status": agreement.status, "comment": (comment or "")[:200]})
    emit_event(type="service.agreement.status_changed", organization=agreement.organization,
               aggregate=agreement, actor=actor,
               payload={**payload(agreement), "from_status": from_status})


# --- Create, edit --------------------------------------------------------------------------


def agreement_create(*, organization, actor, now=None, **data):
    now = now or timezone.now()
    data.setdefault("kind", AgreementKind.SLA)
    data.setdefault("title", "")
    fields, services = _clean(organization, data)
    agreement = Agreement(organization=organization, created_at=now, updated_at=now, **fields)
    _apply_parties(agreement)
    _check_whole(agreement)
    with transaction.atomic():
        agreement.number = next_agreement_number(organization.pk)
        agreement.save()
        if services:
            agreement.services.set(services)
        _history(agreement, from_status="", actor=actor, now=now)
        audit_record(actor=actor, organization=organization,
                     action="service.agreement.created", obj=agreement,
                     after={"number": agreement.number, "kind": agreement.kind,
                            "title": agreement.title, "account_id": agreement.account_id})
        emit_event(type="service.agreement.created", organization=organization,
                   aggregate=agreement, actor=actor, payload=payload(agreement))
    return agreement


def agreement_update(*, agreement, actor, version, now=None, **data):
    """Change an agreement's terms (draft or negotiation) or its running details (owner,
    review date, renewal notice, notes) later on. Nothing changes once expired/terminated."""
    fields, services = _clean(agreement.organization, data)
    with transaction.atomic():
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        if locked.version != version:
            raise StaleVersion()
        if locked.status in FINAL:
            raise PortfolioError(_("An expired or terminated agreement cannot be changed."),
                                 code="closed")
        if locked.status not in TERMS_OPEN:
            locked_terms = (set(fields) | ({"services"} if services is not None else set())) - (
                set(RUNNING_FIELDS))
            if locked_terms:
                raise PortfolioError(
                    _("The terms of a signed agreement cannot change; put it back into "
                      "negotiation or make a new one. (%(fields)s)") % {
                        "fields": ", ".join(sorted(locked_terms))},
                    code="terms_locked", field=sorted(locked_terms)[0])
        before = {name: str(getattr(locked, name)) for name in fields}
        for name, value in fields.items():
            setattr(locked, name, value)
        _apply_parties(locked)
        _check_whole(locked)
        locked.updated_at = now or timezone.now()
        locked.version += 1
        locked.save()
        if services is not None:
            locked.services.set(services)
        audit_record(actor=actor, organization=locked.organization,
                     action="service.agreement.updated", obj=locked, before=before,
                     after={name: str(getattr(locked, name)) for name in fields})
        emit_event(type="service.agreement.updated", organization=locked.organization,
                   aggregate=locked, actor=actor, payload=payload(locked))
    return locked


# --- Lifecycle -----------------------------------------------------------------------------


def agreement_transition(*, agreement, to_status, actor, comment="", version=None, now=None):
    """A staff move along TRANSITIONS. "active" is reached by signatures only and "expired"
    by the housekeeping job only."""
    now = now or timezone.now()
    if to_status not in A.values:
        raise PortfolioError(_("Unknown status."), code="invalid", field="to_status")
    comment = _text(comment, field="comment", max_length=2000)
    with transaction.atomic():
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        if version is not None and locked.version != version:
            raise StaleVersion()
        if to_status not in TRANSITIONS[locked.status]:
            message = _("An agreement cannot move from %(from)s to %(to)s.") % {
                "from": A(locked.status).label, "to": A(to_status).label}
            if to_status == A.ACTIVE and locked.status == A.PENDING_SIGNATURE:
                message = _("An agreement becomes active when both parties have signed it.")
            raise PortfolioError(message, code="invalid_transition", field="to_status")
        if to_status == A.TERMINATED and not comment:
            raise PortfolioError(_("Say why the agreement is terminated."), code="required",
                                 field="comment")
        if to_status == A.PENDING_SIGNATURE:
            _check_whole(locked)
            locked.signature_round += 1
        from_status = locked.status
        locked.status = to_status
        locked.updated_at = now
        locked.version += 1
        locked.save()
        _history(locked, from_status=from_status, actor=actor, comment=comment, now=now)
    return locked


def awaiting_customer_count(organization, user):
    """Agreements waiting for the customer's signature in `organization` (the portal home's
    badge): one query."""
    answered = AgreementSignature.objects.filter(agreement=models.OuterRef("pk"),
                                                 party=CUSTOMER,
                                                 round=models.OuterRef("signature_round"))
    return (Agreement.objects.filter(buyer=organization, status=A.PENDING_SIGNATURE)
            .exclude(models.Exists(answered)).count())


def signable_parties(agreement, membership):
    """The parties `membership` may sign for on this agreement now (views offer these)."""
    if agreement.status != A.PENDING_SIGNATURE or membership is None:
        return []
    answered = set(agreement.signatures.filter(round=agreement.signature_round)
                   .values_list("party", flat=True))
    parties = []
    organization_id = membership.organization_id
    staff = (organization_id == agreement.organization_id
             and has_perm(membership, SERVICE_EDIT))
    if staff and PROVIDER not in answered:
        parties.append(PROVIDER)
    if CUSTOMER not in answered:
        if agreement.buyer_id:
            if (organization_id == agreement.buyer_id and membership.is_active
                    and membership.role in CUSTOMER_SIGNER_ROLES):
                parties.append(CUSTOMER)
        elif staff:
            parties.append(CUSTOMER)
    return parties


def agreement_sign(*, agreement, membership, actor, party, decision, comment="",
                   signer_name="", now=None):
    """Record one party's signature or refusal (see the module docstring for who may)."""
    now = now or timezone.now()
    if party not in PARTIES:
        raise PortfolioError(_("Unknown party."), code="invalid", field="party")
    if decision not in SignatureDecision.values:
        raise PortfolioError(_("Sign or decline."), code="invalid", field="decision")
    comment = _text(comment, field="comment", max_length=2000)
    signer_name = _text(signer_name, field="signer_name", max_length=200)
    if decision == SignatureDecision.DECLINED and not comment:
        raise PortfolioError(_("Say why you decline."), code="required", field="comment")
    with transaction.atomic():
        locked = Agreement.objects.select_for_update().get(pk=agreement.pk)
        if locked.status != A.PENDING_SIGNATURE:
            raise PortfolioError(_("This agreement is not waiting for signatures."),
                                 code="not_pending", field="decision")
        if party not in signable_parties(locked, membership):
            if locked.signatures.filter(round=locked.signature_round, party=party).exists():
                raise PortfolioError(_("This party has already answered."),
                                     code="already_signed", field="party")
            raise PortfolioError(_("You may not sign for this party."), code="forbidden",
                                 field="party")
        on_behalf = party == CUSTOMER and not locked.buyer_id
        if on_behalf and not signer_name:
            raise PortfolioError(_("Enter the name of the person who signed."),
                                 code="required", field="signer_name")
        if not signer_name:
            signer_name = (actor.get_full_name() or actor.get_username())[:200]
        try:
            with transaction.atomic():
                signature = AgreementSignature.objects.create(
                    agreement=locked, party=party, user=_user(actor), signer_name=signer_name,
                    decision=decision, comment=comment, decided_at=now,
                    round=locked.signature_round)
        except IntegrityError as exc:
            raise PortfolioError(_("This party has already answered."), code="already_signed",
                                 field="party") from exc
        audit_record(actor=actor, organization=locked.organization,
                     action=f"service.agreement.{decision}", obj=locked,
                     after={"party": party, "signer": signer_name, "comment": comment[:200]})
        emit_event(type=f"service.agreement.{decision}", organization=locked.organization,
                   aggregate=locked, actor=actor,
                   payload={**payload(locked), "party": party, "signature_id": signature.pk})
        from_status = locked.status
        if decision == SignatureDecision.DECLINED:
            locked.status = A.NEGOTIATION
            note = _("Declined by %(name)s (%(party)s): %(comment)s") % {
                "name": signer_name, "party": party, "comment": comment}
        else:
            signed = set(locked.signatures.filter(round=locked.signature_round,
                                                  decision=SignatureDecision.SIGNED)
                         .values_list("party", flat=True))
            note = _("Signed by both parties.")
            if signed >= set(PARTIES):
                locked.status = A.ACTIVE
                locked.starts_on = locked.starts_on or timezone.localdate(now)
        if locked.status != from_status:
            locked.updated_at = now
            locked.version += 1
            locked.save()
            _history(locked, from_status=from_status, actor=actor, comment=note, now=now)
    return signature


# --- Documents -----------------------------------------------------------------------------


def _clean_file_name(name):
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(char for char in name if char.isprintable()).strip()
    return name[-255:] or "document"


def document_max_bytes():
    return settings.JALIN_DOCUMENT_MAX_BYTES


def agreement_document_add(*, agreement, actor, file, title="", shared_with_customer=True):
    """Attach a file: at most `JALIN_DOCUMENT_MAX_BYTES`, of a document type (PDF, office,
    image, text) judged by its content; programs and anything else are refused."""
    if file is None:
        raise PortfolioError(_("Choose a file."), code="required", field="file")
    limit = document_max_bytes()
    if (getattr(file, "size", 0) or 0) > limit:
        raise PortfolioError(_("The file is too large."), code="too_large", field="file")
    file_name = _clean_file_name(getattr(file, "name", ""))
    extension = os.path.splitext(file_name)[1].lower()
    digest, head, size = hashlib.sha256(), b"", 0
    file.seek(0)
    for chunk in file.chunks():
        if len(head) < 4096:
            head += chunk[: 4096 - len(head)]
        size += len(chunk)
        if size > limit:
            raise PortfolioError(_("The file is too large."), code="too_large", field="file")
        digest.update(chunk)
    file.seek(0)
    if size == 0:
        raise PortfolioError(_("The file is empty."), code="empty", field="file")
    content_type = detect_content_type(head, file_name)
    allowed = content_type in DOCUMENT_TYPES or (
        content_type in ("application/zip", "application/x-zip-compressed")
        and extension in ZIP_EXTENSIONS)
    if is_executable(head) or not allowed or extension not in DOCUMENT_EXTENSIONS:
        raise PortfolioError(
            _("Attach a PDF, an office document, an image (PNG, JPEG) or a text file."),
            code="file_type", field="file")
    title = _text(title, field="title", max_length=200) or file_name[:200]
    storage = AgreementDocument._meta.get_field("file").storage
    now = timezone.now()
    stored = storage.save(f"{agreement.organization_id}/agreements/{now:%Y}/{uuid.uuid4()}",
                          file)
    try:
        with transaction.atomic():
            document = AgreementDocument.objects.create(
                agreement=agreement, title=title, file=stored, original_name=file_name,
                size=size, content_type=content_type, sha256=digest.hexdigest(),
                shared_with_customer=bool(shared_with_customer), uploaded_by=_user(actor))
            audit_record(actor=actor, organization=agreement.organization,
                         action="service.agreement.document_added", obj=agreement,
                         after={"document_id": document.pk, "title": title,
                                "size": size, "content_type": content_type})
            emit_event(type="service.agreement.document_added",
                       organization=agreement.organization, aggregate=agreement, actor=actor,
                       payload={**payload(agreement), "document_id": document.pk})
    except Exception:
        storage.delete(stored)
        raise
    return document


def referenced_files(names):
    """For the private-file sweep: which of `names` agreement documents still use."""
    return set(AgreementDocument.objects.filter(file__in=list(names))
               .values_list("file", flat=True))


# --- Reminders and expiry (housekeeping) ---------------------------------------------------


def _remind(agreement, *, kind, due_on, today):
    """Create the one reminder row for (agreement, kind, due_on); notify the owner only when
    this call created it. Returns True when a reminder was sent now."""
    try:
        with transaction.atomic():
            reminder = AgreementReminder.objects.create(agreement=agreement, kind=kind,
                                                        due_on=due_on,
                                                        notified_user=agreement.owner)
            if agreement.owner is not None:
                if kind == AgreementReminderKind.REVIEW:
                    title = _("%(agreement)s is due for review on %(date)s") % {
                        "agreement": agreement_label(agreement), "date": due_on.isoformat()}
                else:
                    title = _("%(agreement)s ends on %(date)s: time to renew") % {
                        "agreement": agreement_label(agreement), "date": due_on.isoformat()}
                notify(organization=agreement.organization, user=agreement.owner,
                       kind=f"agreement_{kind}", title=title, body=agreement.title,
                       url=f"/service/agreements/{agreement.pk}/",
                       key=f"agreement:{agreement.pk}:{kind}:{due_on.isoformat()}",
                       email=True)
            emit_event(type=f"service.agreement.{kind}_reminder",
                       organization=agreement.organization, aggregate=agreement, actor=None,
                       payload={**payload(agreement), "due_on": due_on.isoformat(),
                                "reminder_id": reminder.pk})
    except IntegrityError:
        return False
    return True


def agreement_reminders_run(*, today=None):
    """Send due review and renewal reminders and expire agreements past their end date.
    Idempotent: run it as often as you like. Returns {"reminded": n, "expired": n}."""
    today = today or timezone.localdate()
    reminded = expired = 0
    live = (A.DRAFT, A.NEGOTIATION, A.PENDING_SIGNATURE, A.ACTIVE, A.SUSPENDED)
    horizon = today + datetime.timedelta(days=max(REVIEW_REMINDER_DAYS, 3650))
    candidates = (Agreement.objects.filter(status__in=live)
                  .filter(Q(review_on__gte=today, review_on__lte=today + datetime.timedelta(
                      days=REVIEW_REMINDER_DAYS)) | Q(ends_on__gte=today, ends_on__lte=horizon))
                  .select_related("owner", "organization"))
    for agreement in candidates.iterator(chunk_size=500):
        if agreement.review_on and (
                agreement.review_on - datetime.timedelta(days=REVIEW_REMINDER_DAYS)
                <= today <= agreement.review_on):
            reminded += _remind(agreement, kind=AgreementReminderKind.REVIEW,
                                due_on=agreement.review_on, today=today)
        if (agreement.ends_on and agreement.status in (A.ACTIVE, A.SUSPENDED)
                and agreement.ends_on - datetime.timedelta(days=agreement.renewal_notice_days)
                <= today <= agreement.ends_on):
            reminded += _remind(agreement, kind=AgreementReminderKind.RENEWAL,
                                due_on=agreement.ends_on, today=today)
    overdue = Agreement.objects.filter(status__in=(A.ACTIVE, A.SUSPENDED), ends_on__lt=today)
    for agreement_id in list(overdue.values_list("pk", flat=True)[:5000]):
        with transaction.atomic():
            locked = (Agreement.objects.select_for_update()
                      .filter(pk=agreement_id, status__in=(A.ACTIVE, A.SUSPENDED),
                              ends_on__lt=today).first())
            if locked is None:
                continue  # another worker got there first
            from_status = locked.status
            locked.status = A.EXPIRED
            locked.updated_at = timezone.now()
            locked.version += 1
            locked.save()
            _history(locked, from_status=from_status, actor=None,
                     comment=_("Expired: valid until %(date)s.") % {
                         "date": locked.ends_on.isoformat()})
            expired += 1
    return {"reminded": reminded, "expired": expired}


def housekeeping_job():
    result = agreement_reminders_run()
    return result if any(result.values()) else None


# --- Choices for forms ---------------------------------------------------------------------


def form_choices(organization):
    """What the create/edit form offers: accounts, teams, policies, services, members."""
    return {
        "accounts": list(Account.objects.filter(organization=organization,
                                                archived_at__isnull=True)
                         .order_by("name").values_list("pk", "name")[:2000]),
        "teams": list(Team.objects.filter(organization=organization, archived_at__isnull=True)
                      .values_list("pk", "name")),
        "policies": list(SlaPolicy.objects.filter(organization=organization,
                                                  archived_at__isnull=True)
                         .values_list("pk", "name")),
        "services": list(Service.objects.filter(organization=organization)
                         .exclude(status__in=("retired", "cancelled"))
                         .values_list("pk", "code", "name")),
        "members": list(Membership.objects.filter(organization=organization, is_active=True)
                        .exclude(role__in=(Role.BUYER, Role.BUYER_APPROVER))
                        .select_related("user").order_by("user__username")),
    }
