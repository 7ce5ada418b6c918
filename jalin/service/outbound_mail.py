"""E-mail from the service desk to the customer, threaded so that replies come back.

The consumer `service.mail_outbound` (registered in ServiceConfig.ready) reacts to:

- `service.case.message_added` with a public reply by staff: the reply is sent to the case's
  contact (else its requester e-mail) — internal notes and customer messages never are;
- `service.case.opened` for a case that came in by e-mail: an acknowledgement with the case
  tag (when the mailbox says so), marked `Auto-Submitted: auto-replied` (RFC 3834) so the
  customer's auto-responder does not answer it.

Both go out only when the organization has an active support mailbox: it is the From and
Reply-To address, so the customer's answer reaches the desk again. The subject is
"Re: <subject> [Case #N-token]"; the Message-ID is derived from the case and message (a
retried delivery sends the same Message-ID) and stored on the CaseMessage and in the e-mail log;
In-Reply-To/References name the customer's last e-mail and the thread so far.

Delivery is at-least-once: `idempotent(...)` keeps a receipt per event, written in the same
transaction as the log row; when sending fails, everything rolls back and the event is retried.
"""

import logging
from email.utils import formataddr

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from jalin.core.events import idempotent

from .inbound_mail import case_tag, case_token, subject_without_tag
from .mail_models import CaseEmail, EmailDirection, EmailOutcome, SupportMailbox

logger = logging.getLogger("jalin.service.mail")

CONSUMER = "service.mail_outbound"
EVENT_TYPES = ("service.case.message_added", "service.case.opened")
MAX_REFERENCES = 20


def case_mailbox(case):
    """The mailbox a case's mail goes out from: the one its e-mail came in to, else the
    organization's first active mailbox; None when it has none."""
    logged = (CaseEmail.objects.filter(case=case, direction=EmailDirection.INBOUND,
                                       mailbox__is_active=True)
              .select_related("mailbox").order_by("id").first())
    if logged is not None:
        return logged.mailbox
    return (SupportMailbox.objects.filter(organization_id=case.organization_id, is_active=True)
            .order_by("id").first())


def case_recipient(case):
    if case.contact_id and case.contact.email:
        return case.contact.email
    if case.requester_email:
        return case.requester_email
    if case.requester_id and case.requester.email:
        return case.requester.email
    return ""


def reply_subject(case):
    subject = subject_without_tag(case.subject)
    if not subject.lower().startswith(("re:", "aw:")):
        subject = f"Re: {subject}"
    return f"{subject} {case_tag(case)}"


def _message_id(case, suffix, mailbox):
    domain = mailbox.address.rsplit("@", 1)[-1] or "jalin.invalid"
    return f"<case{case.pk}.{suffix}.{case_token(case)}@{domain}>"


def _thread(case):
    """(In-Reply-To, References) for a new mail on `case`."""
    logged = list(CaseEmail.objects.filter(case=case).order_by("id")
                  .values_list("direction", "message_id"))
    last_inbound = next((mid for direction, mid in reversed(logged)
                         if direction == EmailDirection.INBOUND), "")
    references = [mid for _direction, mid in logged][-MAX_REFERENCES:]
    return last_inbound, references


def _send(*, case, mailbox, recipient, subject, body, message_id, auto=False):
    in_reply_to, references = _thread(case)
    headers = {"Message-ID": message_id}
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
    if references:
        headers["References"] = " ".join(references)
    if auto:
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    sender = formataddr((mailbox.name or case.organization.name, mailbox.address))
    message = EmailMessage(subject=subject, body=body, from_email=sender, to=[recipient],
                           reply_to=[mailbox.address], headers=headers)
    return message.send()


def _footer(case):
    return "\n\n-- \n" + _("%(organization)s support · case #%(number)s") % {
        "organization": case.organization.name, "number": case.number}


def reply_send(*, message, now=None):
    """E-mail a public staff reply to the customer (once). Returns True when sent."""
    from .models import MessageVisibility

    case = message.case
    if message.visibility != MessageVisibility.PUBLIC or not message.from_staff:
        return False
    mailbox = case_mailbox(case)
    recipient = case_recipient(case)
    if mailbox is None or not recipient:
        return False
    message_id = message.email_message_id or _message_id(case, f"msg{message.pk}", mailbox)
    if CaseEmail.objects.filter(organization_id=case.organization_id,
                                message_id=message_id).exists():
        return False
    subject = reply_subject(case)
    _send(case=case, mailbox=mailbox, recipient=recipient, subject=subject,
          body=message.body + _footer(case), message_id=message_id)
    # After sending (and in the caller's transaction): a failed send leaves no trace.
    _log_sent(case=case, mailbox=mailbox, message_id=message_id, recipient=recipient,
              subject=subject, case_message=message, now=now)
    if message.email_message_id != message_id:
        type(message).objects.filter(pk=message.pk).update(email_message_id=message_id)
        message.email_message_id = message_id
    return True


def acknowledgement_send(*, case, now=None):
    """Tell the sender of a new e-mail case its number (once). Returns True when sent."""
    mailbox = case_mailbox(case)
    recipient = case_recipient(case)
    if mailbox is None or not recipient or not mailbox.send_acknowledgement:
        return False
    message_id = _message_id(case, "ack", mailbox)
    if CaseEmail.objects.filter(organization_id=case.organization_id,
                                message_id=message_id).exists():
        return False
    subject = reply_subject(case)
    body = _(
        "Thank you for your message. We opened case #%(number)s for it and will answer "
        "as soon as we can.\n\nReply to this e-mail to add to the case; please keep "
        "%(tag)s in the subject."
    ) % {"number": case.number, "tag": case_tag(case)}
    _send(case=case, mailbox=mailbox, recipient=recipient, subject=subject,
          body=body + _footer(case), message_id=message_id, auto=True)
    _log_sent(case=case, mailbox=mailbox, message_id=message_id, recipient=recipient,
              subject=subject, case_message=None, now=now)
    return True


def _log_sent(*, case, mailbox, message_id, recipient, subject, case_message, now):
    CaseEmail.objects.create(
        organization_id=case.organization_id, mailbox=mailbox,
        direction=EmailDirection.OUTBOUND, message_id=message_id, transport="backend",
        outcome=EmailOutcome.SENT, case=case, case_message=case_message,
        from_address=mailbox.address, to_address=recipient[:254], subject=subject[:200],
        created_at=now or timezone.now(),
    )


def on_case_event(event):
    """Consumer: reply and acknowledgement e-mails (see the module docstring)."""
    from .models import Case, CaseChannel, CaseMessage

    payload = event.payload or {}
    with idempotent(CONSUMER, event) as first_time:
        if not first_time:
            return
        with translation.override(settings.LANGUAGE_CODE):
            if event.type == "service.case.message_added":
                if payload.get("visibility") != "public" or not payload.get("from_staff"):
                    return
                message = (CaseMessage.objects
                           .select_related("case__organization", "case__contact",
                                           "case__requester")
                           .filter(pk=payload.get("message_id"),
                                   case__organization_id=event.organization_id).first())
                if message is not None and reply_send(message=message):
                    logger.info("Mailed reply %s on case %s", message.pk, message.case_id)
            elif event.type == "service.case.opened":
                if payload.get("channel") != CaseChannel.EMAIL:
                    return
                case = (Case.objects.select_related("organization", "contact", "requester")
                        .filter(pk=payload.get("case_id"),
                                organization_id=event.organization_id).first())
                if case is not None and acknowledgement_send(case=case):
                    logger.info("Acknowledged e-mail case %s", case.pk)
