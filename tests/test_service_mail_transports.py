"""Email to case against real mail servers on localhost: the aiosmtpd inbound server fed by
smtplib, Django's SMTP backend delivering replies to an aiosmtpd sink, and a private dovecot
IMAP server polled by the mailbox poller (see tests/mail_servers.py)."""

import email
import email.policy
import smtplib
import threading

import pytest
from django.core import mail
from django.db import connection

from jalin.core.events import consumer_deliver, events_sequence
from jalin.service.cases import case_add_message
from jalin.service.inbound_mail import case_tag
from jalin.service.mail_models import CaseEmail, SupportMailbox
from jalin.service.mail_transports import mailbox_poll, mailboxes_poll, smtp_controller
from jalin.service.mailboxes import mailbox_create
from jalin.service.models import Case, CaseMessage
from jalin.service.outbound_mail import CONSUMER

from .mail_servers import Dovecot, dovecot_missing_reason, free_port, smtp_sink
from .test_service_mail import raw_mail


@pytest.fixture
def smtp_server():
    port = free_port()
    controller = smtp_controller(host="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def dovecot(tmp_path):
    reason = dovecot_missing_reason()
    if reason:
        pytest.skip(reason)
    server = Dovecot(tmp_path).start()
    try:
        yield server
    finally:
        server.stop()


def imap_mailbox(org, dovecot, **extra):
    return mailbox_create(
        organization=org, actor=None, address="support@acme.example", imap_host="127.0.0.1",
        imap_port=dovecot.port, imap_user=dovecot.user, imap_password=dovecot.password,
        imap_ssl=False, **extra)


# --- Inbound SMTP server ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_mail_sent_with_smtplib_to_the_inbound_server_opens_a_case(org, smtp_server,
                                                                   settings):
    mailbox_create(organization=org, actor=None, address="support@acme.example")
    with smtplib.SMTP("127.0.0.1", smtp_server, timeout=10) as client:
        refused = client.sendmail("andi@toko.example", ["support@acme.example"], raw_mail())
        assert refused == {}
        # Not one of our mailboxes: refused at RCPT, so we are no open relay.
        with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
            client.sendmail("andi@toko.example", ["someone@elsewhere.example"],
                            raw_mail(message_id="<relay@toko>"))
        assert info.value.recipients["someone@elsewhere.example"][0] == 550
        # The same message again: accepted, but still one case.
        client.sendmail("andi@toko.example", ["support@acme.example"], raw_mail())
    case = Case.objects.get(organization=org)
    assert (case.channel, case.subject, case.requester_email) == (
        "email", "Pipa bocor", "andi@toko.example")
    assert CaseEmail.objects.get(organization=org).transport == "smtp"


@pytest.mark.django_db(transaction=True)
def test_inbound_server_refuses_oversized_mail(org, settings):
    settings.JALIN_MAIL_MAX_BYTES = 2000
    mailbox_create(organization=org, actor=None, address="support@acme.example")
    port = free_port()
    controller = smtp_controller(host="127.0.0.1", port=port)
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            with pytest.raises(smtplib.SMTPResponseException) as info:
                client.sendmail("andi@toko.example", ["support@acme.example"],
                                raw_mail(body="x" * 5000))
            assert info.value.smtp_code == 552
    finally:
        controller.stop()
    assert not Case.objects.exists()


# --- Outbound through Django's SMTP backend ---------------------------------------------------


def test_staff_reply_reaches_an_smtp_server_with_threading_headers(org, owner, settings):
    mailbox = mailbox_create(organization=org, actor=owner, address="support@acme.example",
                             name="Acme support", send_acknowledgement=False)
    from jalin.service.inbound_mail import mail_receive

    mail_receive(raw=raw_mail(), transport="test", mailbox=mailbox)
    case = Case.objects.get(organization=org)
    reply = case_add_message(case=case, body="Kami kirim pengganti besok.", from_staff=True,
                             channel="staff", author=owner)
    with smtp_sink() as (sink, port):
        settings.MAILERS = {"default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "use_tls": False, "timeout": 10},
        }}
        events_sequence()
        assert consumer_deliver(name=CONSUMER).delivered >= 1
    assert mail.outbox == []  # really went over SMTP
    assert len(sink.envelopes) == 1
    envelope = sink.envelopes[0]
    assert envelope.mail_from == "support@acme.example"
    assert envelope.rcpt_tos == ["andi@toko.example"]
    received = email.message_from_bytes(envelope.original_content or envelope.content,
                                        policy=email.policy.default)
    reply.refresh_from_db()
    assert received["Subject"] == f"Re: Pipa bocor {case_tag(case)}"
    assert received["Message-ID"] == reply.email_message_id
    assert received["In-Reply-To"] == "<m1@toko>"
    assert "<m1@toko>" in received["References"]
    assert received["Reply-To"] == "support@acme.example"
    assert str(received["From"]) == "Acme support <support@acme.example>"
    assert received.get_body(("plain",)).get_content().startswith("Kami kirim pengganti")
    # The customer's answer to that mail threads back into the case.
    answer = raw_mail(subject=str(received["Subject"]), message_id="<m2@toko>",
                      body="Terima kasih", headers={"In-Reply-To": str(received["Message-ID"])})
    assert mail_receive(raw=answer, transport="test", mailbox=mailbox)[0].outcome == "added"


# --- IMAP poller against dovecot --------------------------------------------------------------


def test_imap_poller_turns_unseen_mail_into_cases_and_marks_it_seen(org, dovecot):
    mailbox = imap_mailbox(org, dovecot)
    dovecot.append(raw_mail())
    dovecot.append(raw_mail(message_id="<old@toko>", subject="Already read"), seen=True)
    dovecot.append(raw_mail(message_id="<auto@toko>", headers={"Auto-Submitted": "auto-replied"}))
    counts = mailbox_poll(mailbox=mailbox)
    assert counts == {"opened": 1, "ignored": 1}, dovecot.log
    case = Case.objects.get(organization=org)
    assert (case.channel, case.subject) == ("email", "Pipa bocor")
    assert CaseEmail.objects.get(organization=org, outcome="opened").transport == "imap"
    assert dovecot.unseen() == []
    mailbox.refresh_from_db()
    assert mailbox.last_polled_at is not None and mailbox.last_poll_error == ""
    assert mailbox.poll_lease_until is None


def test_polling_twice_or_a_redelivered_copy_makes_one_case(org, dovecot):
    mailbox = imap_mailbox(org, dovecot)
    dovecot.append(raw_mail())
    assert mailbox_poll(mailbox=mailbox) == {"opened": 1}
    assert mailbox_poll(mailbox=mailbox) == {}
    dovecot.append(raw_mail())  # the same message delivered into the folder again
    assert mailboxes_poll() == {"duplicate": 1}
    assert Case.objects.filter(organization=org).count() == 1
    # A reply by mail lands on the case.
    case = Case.objects.get(organization=org)
    dovecot.append(raw_mail(subject=f"Re: Pipa bocor {case_tag(case)}", message_id="<m2@toko>",
                            body="Masih bocor"))
    assert mailbox_poll(mailbox=mailbox) == {"added": 1}
    assert CaseMessage.objects.get(case=case, from_staff=False).body == "Masih bocor"


def test_wrong_imap_password_is_recorded_not_raised(org, dovecot):
    mailbox = imap_mailbox(org, dovecot)
    from jalin.service.mailboxes import mailbox_update

    mailbox = mailbox_update(mailbox=mailbox, actor=None, imap_password="wrong")
    dovecot.append(raw_mail())
    assert mailbox_poll(mailbox=mailbox) == {"failed": 1}
    mailbox.refresh_from_db()
    assert "AUTHENTICATIONFAILED" in mailbox.last_poll_error or mailbox.last_poll_error
    assert "wrong" not in mailbox.last_poll_error
    assert not Case.objects.exists()
    assert dovecot.unseen() != []


def test_a_mailbox_leased_by_another_worker_is_skipped(org, dovecot):
    from django.utils import timezone

    mailbox = imap_mailbox(org, dovecot)
    dovecot.append(raw_mail())
    SupportMailbox.objects.filter(pk=mailbox.pk).update(
        poll_lease_until=timezone.now() + timezone.timedelta(minutes=1), poll_lease_owner="x")
    assert mailbox_poll(mailbox=mailbox) == {"skipped": 1}
    assert not Case.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_polling_at_once_make_one_case(org, dovecot):
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is proven on PostgreSQL")
    mailbox = imap_mailbox(org, dovecot)
    for number in range(5):
        dovecot.append(raw_mail(message_id=f"<c{number}@toko>", subject=f"Case {number}"))
    barrier = threading.Barrier(2)
    results = []

    def worker():
        try:
            barrier.wait(timeout=10)
            box = SupportMailbox.objects.select_related("organization").get(pk=mailbox.pk)
            results.append(mailbox_poll(mailbox=box))
            # The lease may have kept this worker out; a second round is a no-op either way.
            results.append(mailbox_poll(mailbox=box))
        finally:
            connection.close()  # this thread's own connection: teardown must not wait on it

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert Case.objects.filter(organization=org).count() == 5
    assert CaseEmail.objects.filter(organization=org).count() == 5
    assert sum(r.get("opened", 0) for r in results) == 5
    assert dovecot.unseen() == []
