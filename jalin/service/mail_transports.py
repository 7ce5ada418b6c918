"""How e-mail reaches the service desk: an SMTP server (`jalin mail_inbound`) and an IMAP
poller (`jalin mail_poll`, and the worker's `service.mail_poll` job every minute). Both hand
each message to `inbound_mail.mail_receive`, which is idempotent by Message-ID.

SMTP: accepts mail only for the addresses of active support mailboxes (550 for anything
else, so it is no open relay), refuses messages over JALIN_MAIL_MAX_BYTES (552) and answers
451 (try again later) when processing fails, so the sending server retries.

IMAP: per mailbox, fetch UNSEEN messages of its folder (without setting \\Seen), process each,
then flag it \\Seen. Two workers never poll the same mailbox at once: a poller takes a lease
on the mailbox row (a conditional UPDATE, no transaction held open over the network); if a
lease ever expires mid-poll, the Message-ID log still makes the second delivery a no-op.
A message that fails stays unseen and is retried at the next poll.
"""

import asyncio
import contextlib
import imaplib
import logging
import ssl
import uuid
from datetime import timedelta

from django.db import close_old_connections, connections
from django.db.models import Q
from django.utils import timezone

from .inbound_mail import MailTooLarge, mail_receive, mailbox_for_address, max_bytes
from .mail_crypto import secret_decrypt
from .mail_models import SupportMailbox

logger = logging.getLogger("jalin.service.mail")

MAX_RECIPIENTS = 50
POLL_BATCH = 100
POLL_LEASE = timedelta(minutes=5)
IMAP_TIMEOUT = 30


# --- SMTP ----------------------------------------------------------------------------------


def _in_thread(func, *args, **kwargs):
    """Run database work off the event loop in a pool thread, and close that thread's
    database connection afterwards (pool threads outlive the server; an open connection would
    linger)."""
    def run():
        close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            connections.close_all()
    return asyncio.get_running_loop().run_in_executor(None, run)


class InboundSMTPHandler:
    """aiosmtpd handler: RCPT checks the support mailboxes, DATA creates the cases."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        mailbox = await _in_thread(mailbox_for_address, address)
        if mailbox is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="replace")
        try:
            results = await _in_thread(mail_receive, raw=raw, transport="smtp",
                                       recipients=list(envelope.rcpt_tos),
                                       envelope_from=envelope.mail_from)
        except MailTooLarge:
            return "552 5.3.4 Message too big"
        except Exception:
            logger.exception("Processing inbound mail from %s failed", envelope.mail_from)
            return "451 4.3.0 Temporary failure, please try again later"
        outcomes = ", ".join(result.outcome for result in results) or "nothing"
        return f"250 2.0.0 Message accepted ({outcomes})"


def smtp_controller(*, host="127.0.0.1", port=8025):
    """An aiosmtpd Controller (call .start() / .stop()) serving the support mailboxes."""
    from aiosmtpd.controller import Controller

    return Controller(InboundSMTPHandler(), hostname=host, port=port,
                      data_size_limit=max_bytes(), ident="Jalin service desk")


# --- IMAP ----------------------------------------------------------------------------------


def _quote(name):
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def imap_connect(mailbox):
    context = ssl.create_default_context()
    if mailbox.imap_ssl:
        client = imaplib.IMAP4_SSL(mailbox.imap_host, mailbox.imap_port or 993,
                                   ssl_context=context, timeout=IMAP_TIMEOUT)
    else:
        client = imaplib.IMAP4(mailbox.imap_host, mailbox.imap_port or 143,
                               timeout=IMAP_TIMEOUT)
        if "STARTTLS" in client.capabilities:
            client.starttls(ssl_context=context)
    client.login(mailbox.imap_user, secret_decrypt(mailbox.imap_password_encrypted))
    return client


def _lease(mailbox, now):
    owner = uuid.uuid4().hex
    taken = (SupportMailbox.objects.filter(pk=mailbox.pk, is_active=True)
             .filter(Q(poll_lease_until__isnull=True) | Q(poll_lease_until__lt=now))
             .update(poll_lease_until=now + POLL_LEASE, poll_lease_owner=owner))
    return owner if taken else None


def _size_of(fetch_data):
    for item in fetch_data:
        text = item.decode() if isinstance(item, bytes) else str(item)
        if "RFC822.SIZE" in text:
            return int(text.split("RFC822.SIZE", 1)[1].strip(" )").split()[0])
    return 0


def _raw_of(fetch_data):
    for item in fetch_data:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    return None


def mailbox_poll(*, mailbox, limit=POLL_BATCH):
    """Fetch and process the unseen messages of one mailbox. Returns counts by outcome, or
    {"skipped": 1} when another worker holds the mailbox."""
    counts = {}
    owner = _lease(mailbox, timezone.now())
    if owner is None:
        return {"skipped": 1}
    error = ""
    client = None
    try:
        client = imap_connect(mailbox)
        status, _ = client.select(_quote(mailbox.imap_folder or "INBOX"))
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot open folder {mailbox.imap_folder!r}")
        _, data = client.uid("SEARCH", None, "UNSEEN")
        uids = (data[0] or b"").split()[:limit]
        for uid in uids:
            outcome = _poll_one(client, mailbox, uid)
            counts[outcome] = counts.get(outcome, 0) + 1
    except (OSError, imaplib.IMAP4.error) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        logger.warning("Polling %s failed: %s", mailbox.address, error)
        counts["failed"] = counts.get("failed", 0) + 1
    finally:
        if client is not None:
            with contextlib.suppress(OSError, imaplib.IMAP4.error):
                client.logout()
        SupportMailbox.objects.filter(pk=mailbox.pk, poll_lease_owner=owner).update(
            poll_lease_until=None, poll_lease_owner="", last_polled_at=timezone.now(),
            last_poll_error=error)
    return counts


def _poll_one(client, mailbox, uid):
    _, data = client.uid("FETCH", uid, "(RFC822.SIZE)")
    if _size_of(data) > max_bytes():
        logger.warning("Skipped message %s in %s: over the size limit", uid, mailbox.address)
        client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
        return "too_large"
    _, data = client.uid("FETCH", uid, "(BODY.PEEK[])")
    raw = _raw_of(data)
    if raw is None:
        return "failed"
    try:
        results = mail_receive(raw=raw, transport="imap", mailbox=mailbox)
    except MailTooLarge:
        results = []
    except Exception:
        # Left unseen: the next poll tries again.
        logger.exception("Processing message %s of %s failed", uid, mailbox.address)
        return "failed"
    client.uid("STORE", uid, "+FLAGS", "(\\Seen)")
    return results[0].outcome if results else "too_large"


def mailboxes_poll():
    """Housekeeping job: poll every active mailbox that has IMAP settings."""
    totals = {}
    mailboxes = (SupportMailbox.objects.filter(is_active=True).exclude(imap_host="")
                 .exclude(imap_user="").select_related("organization").order_by("id"))
    for mailbox in mailboxes:
        for outcome, count in mailbox_poll(mailbox=mailbox).items():
            totals[outcome] = totals.get(outcome, 0) + count
    return totals
