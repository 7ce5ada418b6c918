"""Email to case: parsing, routing, dedupe, loops, replies by e-mail, outbound threading,
mailbox pages and the HTTP endpoint. The SMTP/IMAP exchanges against real servers are in
test_service_mail_transports.py."""

from email.message import EmailMessage

import pytest
from django.core import mail
from django.test import Client

from jalin.core.events import consumer_deliver, events_sequence
from jalin.crm.models import Account, Contact
from jalin.service.cases import case_add_message
from jalin.service.inbound_mail import (
    MailTooLarge,
    case_tag,
    html_to_text,
    mail_parse,
    mail_receive,
    strip_reply,
)
from jalin.service.mail_crypto import secret_decrypt
from jalin.service.mail_models import CaseEmail, SupportMailbox
from jalin.service.mailboxes import mailbox_create, mailbox_issue_token
from jalin.service.models import Case, CaseMessage, CaseStatus
from jalin.service.outbound_mail import CONSUMER

from .conftest import make_org


def raw_mail(*, sender="Andi <andi@toko.example>", to="support@acme.example",
             subject="Pipa bocor", body="Pipa yang kami terima bocor.", message_id="<m1@toko>",
             html=None, headers=None):
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    if message_id:
        message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    if body is not None:
        message.set_content(body)
    if html is not None:
        if body is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    return message.as_bytes()


@pytest.fixture
def mailbox(org, owner):
    return mailbox_create(organization=org, actor=owner, address="Support@Acme.example",
                          name="Acme support")


@pytest.fixture
def customer(org, other_org):
    account = Account.objects.create(organization=org, name="Toko Andi",
                                     hub_organization=other_org)
    contact = Contact.objects.create(organization=org, first_name="Andi", last_name="Wijaya",
                                     email="andi@toko.example", account=account)
    return account, contact


def receive(raw, mailbox, **kwargs):
    results = mail_receive(raw=raw, transport="test", mailbox=mailbox, **kwargs)
    assert len(results) == 1
    return results[0]


def deliver_outbound():
    events_sequence()
    return consumer_deliver(name=CONSUMER)


# --- Parsing --------------------------------------------------------------------------------


def test_plain_part_is_preferred_and_html_only_mail_becomes_text():
    parsed = mail_parse(raw_mail(body="Plain words", html="<p>HTML words</p>"))
    assert parsed.body == "Plain words"
    parsed = mail_parse(raw_mail(body=None, html="<html><head><style>p{}</style></head><body>"
                                 "<p>Halo&nbsp;tim,</p><p>pipa <b>bocor</b>.</p>"
                                 "<script>x()</script></body></html>"))
    assert parsed.body == "Halo tim,\n\npipa bocor."
    assert html_to_text("<div>a</div><div>b</div>") == "a\n\nb"


def test_quoted_history_and_signature_are_stripped():
    text = ("Sudah kami cek, masih bocor.\n\n-- \nAndi\nToko Andi\n")
    assert strip_reply(text) == "Sudah kami cek, masih bocor."
    text = ("Thanks, that fixed it.\n\nOn Mon, 2 Nov 2026 at 10:00, Acme support "
            "<support@acme.example> wrote:\n> Please try again.\n> Regards")
    assert strip_reply(text) == "Thanks, that fixed it."
    text = "Oke.\n\nPada Sen, 2 Nov 2026 pukul 10.00, Acme menulis:\n> Silakan coba"
    assert strip_reply(text) == "Oke."
    text = ("New info below\n\nFrom: Acme support <support@acme.example>\n"
            "Sent: Monday\nTo: Andi\nSubject: Re: x\n\nold text")
    assert strip_reply(text) == "New info below"
    text = "> only a quote"
    assert strip_reply(text) == "> only a quote"  # nothing new: keep what there is


def test_body_is_truncated_and_null_bytes_removed(settings):
    settings.JALIN_MAIL_MAX_BODY_CHARS = 100
    parsed = mail_parse(raw_mail(body="x" * 500 + "\x00"))
    assert parsed.body.startswith("x" * 100) and parsed.body.endswith("[…]")
    assert len(parsed.body) < 110 and "\x00" not in parsed.body


def test_message_without_message_id_gets_a_stable_one():
    raw = raw_mail(message_id=None)
    assert mail_parse(raw).message_id == mail_parse(raw).message_id
    assert mail_parse(raw).message_id.endswith("@no-message-id.invalid>")


# --- Routing and cases ----------------------------------------------------------------------


def test_mail_from_a_known_contact_opens_a_case_for_its_account(mailbox, customer, org,
                                                                 other_org):
    account, contact = customer
    result = receive(raw_mail(sender="Andi <ANDI@Toko.Example>"), mailbox)
    assert result.outcome == "opened"
    case = Case.objects.get(organization=org)
    assert (case.channel, case.subject, case.kind) == ("email", "Pipa bocor", "question")
    assert case.description == "Pipa yang kami terima bocor."
    assert (case.account, case.contact, case.buyer) == (account, contact, other_org)
    assert case.requester_email == "andi@toko.example"
    logged = CaseEmail.objects.get(organization=org)
    assert (logged.direction, logged.outcome, logged.case, logged.message_id) == (
        "in", "opened", case, "<m1@toko>")


def test_unknown_sender_still_opens_a_case_with_the_requester_email(mailbox, org):
    mailbox.default_kind, mailbox.default_priority = "complaint", "high"
    mailbox.save()
    receive(raw_mail(sender="stranger@elsewhere.example", subject=""), mailbox)
    case = Case.objects.get(organization=org)
    assert (case.account, case.contact, case.requester_email) == (
        None, None, "stranger@elsewhere.example")
    assert (case.kind, case.priority, case.subject) == ("complaint", "high", "(no subject)")


def test_the_same_message_twice_makes_one_case(mailbox, org):
    raw = raw_mail()
    assert receive(raw, mailbox).outcome == "opened"
    assert receive(raw, mailbox).outcome == "duplicate"
    # Through the recipient address as well (another transport delivering it again).
    assert mail_receive(raw=raw, transport="smtp",
                        recipients=["support@acme.example"])[0].outcome == "duplicate"
    assert Case.objects.filter(organization=org).count() == 1
    assert CaseEmail.objects.filter(organization=org).count() == 1


def test_recipient_address_picks_the_mailbox_plus_tags_included(mailbox, org):
    results = mail_receive(raw=raw_mail(), transport="smtp",
                           recipients=["nobody@acme.example", "SUPPORT+urgent@acme.example"])
    assert [r.outcome for r in results] == ["opened"]
    assert mail_receive(raw=raw_mail(message_id="<m2@toko>"), transport="smtp",
                        recipients=["sales@acme.example"]) == []
    mailbox.is_active = False
    mailbox.save()
    assert mail_receive(raw=raw_mail(message_id="<m3@toko>"), transport="smtp",
                        recipients=["support@acme.example"]) == []
    assert Case.objects.filter(organization=org).count() == 1


@pytest.mark.parametrize("headers, sender", [
    ({"Auto-Submitted": "auto-replied"}, "andi@toko.example"),
    ({"Precedence": "bulk"}, "andi@toko.example"),
    ({"Precedence": "auto_reply"}, "andi@toko.example"),
    ({"X-Autoreply": "yes"}, "andi@toko.example"),
    ({}, "MAILER-DAEMON@mx.toko.example"),
    ({}, "postmaster@toko.example"),
    ({}, "support@acme.example"),  # our own mailbox: a loop
])
def test_automatic_mail_never_opens_a_case(mailbox, org, headers, sender):
    result = receive(raw_mail(sender=sender, headers=headers), mailbox)
    assert result.outcome == "ignored"
    assert not Case.objects.filter(organization=org).exists()
    assert CaseEmail.objects.get(organization=org).outcome == "ignored"
    assert deliver_outbound() is not None and not mail.outbox


def test_auto_submitted_no_and_empty_envelope_sender(mailbox, org):
    assert receive(raw_mail(headers={"Auto-Submitted": "no"}), mailbox).outcome == "opened"
    assert receive(raw_mail(message_id="<bounce@x>"), mailbox,
                   envelope_from="<>").outcome == "ignored"


def test_oversized_mail_is_refused_before_parsing(mailbox, org, settings):
    settings.JALIN_MAIL_MAX_BYTES = 1000
    with pytest.raises(MailTooLarge):
        receive(raw_mail(body="x" * 2000), mailbox)
    assert not CaseEmail.objects.exists() and not Case.objects.exists()


def test_mail_the_desk_refuses_is_logged_once_not_retried(mailbox, org):
    SupportMailbox.objects.filter(pk=mailbox.pk).update(default_kind="bogus")
    mailbox.refresh_from_db()
    result = receive(raw_mail(), mailbox)
    assert result.outcome == "ignored" and result.detail.startswith("refused:")
    assert receive(raw_mail(), mailbox).outcome == "duplicate"
    assert not Case.objects.exists()
    assert CaseEmail.objects.get(organization=org).outcome == "ignored"


def _open_case(mailbox, org, **kwargs):
    receive(raw_mail(**kwargs), mailbox)
    return Case.objects.get(organization=org)


def test_reply_by_in_reply_to_of_our_reply_adds_a_customer_message(mailbox, org, owner,
                                                                   customer):
    case = _open_case(mailbox, org)
    staff = case_add_message(case=case, body="Kami kirim pengganti.", from_staff=True,
                             channel="staff", author=owner)
    deliver_outbound()
    staff.refresh_from_db()
    assert staff.email_message_id
    case.refresh_from_db()
    # The customer answers our reply (quoting it); the subject lost the tag.
    raw = raw_mail(subject="Re: Pipa bocor", message_id="<m2@toko>",
                   body="Terima kasih!\n\nOn Tue, Acme wrote:\n> Kami kirim pengganti.",
                   headers={"In-Reply-To": staff.email_message_id,
                            "References": f"<m1@toko> {staff.email_message_id}"})
    assert receive(raw, mailbox).outcome == "added"
    assert Case.objects.filter(organization=org).count() == 1
    message = CaseMessage.objects.filter(case=case).order_by("-id").first()
    assert (message.body, message.from_staff, message.channel, message.email_message_id) == (
        "Terima kasih!", False, "email", "<m2@toko>")


def test_reply_to_a_resolved_case_reopens_it_and_to_a_closed_case_opens_a_follow_up(
        mailbox, org, owner):
    from jalin.service.cases import case_set_status

    case = _open_case(mailbox, org)
    case_set_status(case=case, status=CaseStatus.RESOLVED, actor=owner)
    receive(raw_mail(message_id="<m2@toko>", headers={"In-Reply-To": "<m1@toko>"}), mailbox)
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    case_set_status(case=case, status=CaseStatus.CLOSED, actor=owner)
    result = receive(raw_mail(message_id="<m3@toko>", headers={"In-Reply-To": "<m2@toko>"}),
                     mailbox)
    assert result.outcome == "opened"
    assert result.case.follow_up_of == case


def test_subject_tag_threads_only_with_the_right_token(mailbox, org):
    case = _open_case(mailbox, org)
    tag = case_tag(case)
    assert receive(raw_mail(subject=f"Re: Pipa bocor {tag}", message_id="<m2@toko>"),
                   mailbox).outcome == "added"
    forged = tag.replace(tag[-5:-1], "0000" if tag[-5:-1] != "0000" else "1111")
    result = receive(raw_mail(subject=f"Re: Pipa bocor {forged}", message_id="<m3@toko>"),
                     mailbox)
    assert result.outcome == "opened" and result.case != case
    assert CaseMessage.objects.filter(case=case, from_staff=False).count() == 1


def test_another_organization_cannot_thread_into_our_case(mailbox, org, owner):
    case = _open_case(mailbox, org)
    rival = make_org("rival-supply")
    rival_box = mailbox_create(organization=rival, actor=None, address="help@rival.example")
    raw = raw_mail(to="help@rival.example", subject=f"Re: x {case_tag(case)}",
                   message_id="<m9@toko>", headers={"In-Reply-To": "<m1@toko>"})
    result = receive(raw, rival_box)
    assert result.outcome == "opened" and result.case.organization == rival
    assert not CaseMessage.objects.filter(case=case, from_staff=False).exists()


def test_reply_to_a_merged_case_goes_to_its_target(mailbox, org, owner):
    from jalin.service.cases import case_merge

    source = _open_case(mailbox, org)
    receive(raw_mail(message_id="<t1@toko>", subject="Another"), mailbox)
    target = Case.objects.filter(organization=org).exclude(pk=source.pk).get()
    case_merge(source=source, target=target, actor=owner)
    assert receive(raw_mail(message_id="<m2@toko>", headers={"In-Reply-To": "<m1@toko>"}),
                   mailbox).outcome == "added"
    assert CaseMessage.objects.filter(case=target, email_message_id="<m2@toko>").exists()


# --- Outbound -------------------------------------------------------------------------------


def test_new_email_case_is_acknowledged_once_with_the_case_tag(mailbox, org):
    case = _open_case(mailbox, org)
    deliver_outbound()
    assert len(mail.outbox) == 1
    ack = mail.outbox[0]
    assert ack.to == ["andi@toko.example"]
    assert ack.subject == f"Re: Pipa bocor {case_tag(case)}"
    assert ack.extra_headers["In-Reply-To"] == "<m1@toko>"
    assert ack.extra_headers["Auto-Submitted"] == "auto-replied"
    assert ack.reply_to == ["support@acme.example"]
    assert f"#{case.number}" in ack.body
    # Redelivery (cursor moved back) sends nothing again.
    from jalin.core.events import consumer_reset_cursor
    consumer_reset_cursor(name=CONSUMER, position=0, actor=None)
    deliver_outbound()
    assert len(mail.outbox) == 1


def test_acknowledgement_can_be_switched_off(mailbox, org):
    mailbox.send_acknowledgement = False
    mailbox.save()
    _open_case(mailbox, org)
    deliver_outbound()
    assert mail.outbox == []


def test_public_staff_reply_is_mailed_threaded_and_notes_are_not(mailbox, org, owner,
                                                                 customer):
    case = _open_case(mailbox, org)
    deliver_outbound()
    mail.outbox.clear()
    case_add_message(case=case, body="Internal: check stock", from_staff=True,
                     channel="staff", visibility="internal", author=owner)
    reply = case_add_message(case=case, body="Kami kirim pengganti besok.", from_staff=True,
                             channel="staff", author=owner)
    deliver_outbound()
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    reply.refresh_from_db()
    assert sent.to == ["andi@toko.example"]
    assert sent.subject == f"Re: Pipa bocor {case_tag(case)}"
    assert sent.body.startswith("Kami kirim pengganti besok.")
    assert "Internal" not in sent.body
    assert sent.extra_headers["Message-ID"] == reply.email_message_id
    assert sent.extra_headers["In-Reply-To"] == "<m1@toko>"
    assert "<m1@toko>" in sent.extra_headers["References"]
    assert "Auto-Submitted" not in sent.extra_headers
    assert CaseEmail.objects.filter(case=case, direction="out").count() == 2  # ack + reply


def test_no_mailbox_means_no_outbound_mail(org, owner):
    from jalin.service.cases import case_open

    case = case_open(organization=org, subject="Portal case", kind="question",
                     channel="portal", requester_email="lina@toko.example", actor=owner)
    case_add_message(case=case, body="Hello", from_staff=True, channel="staff", author=owner)
    deliver_outbound()
    assert mail.outbox == []


def test_our_own_reply_coming_back_is_a_duplicate(mailbox, org, owner):
    case = _open_case(mailbox, org)
    reply = case_add_message(case=case, body="Answer", from_staff=True, channel="staff",
                             author=owner)
    deliver_outbound()
    reply.refresh_from_db()
    sent = mail.outbox[-1].message().as_bytes()
    assert receive(sent, mailbox).outcome == "duplicate"
    assert CaseMessage.objects.filter(case=case).count() == 1


# --- Mailbox pages and secrets -------------------------------------------------------------


def test_owner_adds_a_mailbox_and_the_password_is_encrypted_and_never_shown(owner_client,
                                                                             org):
    response = owner_client.post("/service/mailboxes/", {
        "address": "Help@Acme.example", "default_kind": "incident",
        "default_priority": "high", "imap_host": "imap.acme.example", "imap_port": "993",
        "imap_user": "help", "imap_password": "s3cret-imap-pw", "imap_folder": "INBOX",
        "imap_ssl": "1", "is_active": "1", "send_acknowledgement": "1",
    })
    assert response.status_code == 302
    box = SupportMailbox.objects.get(organization=org)
    assert box.address == "help@acme.example"
    assert "s3cret" not in box.imap_password_encrypted
    assert secret_decrypt(box.imap_password_encrypted) == "s3cret-imap-pw"
    page = owner_client.get(f"/service/mailboxes/{box.pk}/")
    assert page.status_code == 200
    assert b"s3cret" not in page.content and box.imap_password_encrypted.encode() \
        not in page.content
    # Saving without a password keeps it; the audit row never holds it.
    response = owner_client.post(f"/service/mailboxes/{box.pk}/", {
        "address": "help@acme.example", "default_kind": "incident", "default_priority": "low",
        "imap_host": "imap.acme.example", "imap_user": "help", "imap_password": "",
        "version": box.version, "is_active": "1",
    })
    assert response.status_code == 302
    box.refresh_from_db()
    assert box.default_priority == "low"
    assert secret_decrypt(box.imap_password_encrypted) == "s3cret-imap-pw"
    from jalin.core.models import AuditLog
    assert not any("s3cret" in str(row.after) + str(row.before)
                   for row in AuditLog.objects.filter(organization=org))


def test_bad_mailbox_input_is_422_and_changes_nothing(owner_client, org, mailbox):
    for data in ({"address": "not-an-address"}, {"address": "support@acme.example"},
                 {"address": "new@acme.example", "default_kind": "bogus"},
                 {"address": "new@acme.example", "imap_port": "99999"}):
        payload = {"default_kind": "question", "default_priority": "normal", **data}
        response = owner_client.post("/service/mailboxes/", payload)
        assert response.status_code == 422, data
        assert b'role="alert"' in response.content
    assert SupportMailbox.objects.count() == 1
    response = owner_client.post(f"/service/mailboxes/{mailbox.pk}/", {
        "address": "support@acme.example", "default_kind": "question",
        "default_priority": "normal", "version": mailbox.version + 5})
    assert response.status_code == 409


def test_member_and_outsider_cannot_manage_mailboxes(member_client, outsider_client, mailbox):
    assert member_client.get("/service/mailboxes/").status_code == 403
    for url in (f"/service/mailboxes/{mailbox.pk}/",):
        assert outsider_client.get(url).status_code == 404
    for url in (f"/service/mailboxes/{mailbox.pk}/token/",
                f"/service/mailboxes/{mailbox.pk}/delete/"):
        assert outsider_client.post(url).status_code == 404
    assert SupportMailbox.objects.filter(pk=mailbox.pk, inbound_token_hash="").exists()


def test_mailbox_list_shows_recent_mail_without_n_plus_one(owner_client, mailbox, org,
                                                           django_assert_max_num_queries):
    for number in range(5):
        receive(raw_mail(message_id=f"<n{number}@toko>"), mailbox)
    with django_assert_max_num_queries(12):
        response = owner_client.get("/service/mailboxes/")
    assert response.status_code == 200
    assert b"support@acme.example" in response.content and b"n4@toko" not in response.content


# --- HTTP endpoint --------------------------------------------------------------------------


def test_http_endpoint_takes_raw_mail_with_the_mailbox_token(mailbox, org, owner, settings):
    token = mailbox_issue_token(mailbox=mailbox, actor=owner)
    client = Client()
    url = f"/service/mail/inbound/{mailbox.pk}/"
    raw = raw_mail()
    response = client.post(url, raw, content_type="message/rfc822",
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 202
    assert response.json()["outcome"] == "opened"
    assert Case.objects.filter(organization=org, channel="email").count() == 1
    response = client.post(url, raw, content_type="message/rfc822",
                           headers={"Authorization": f"Bearer {token}"})
    assert response.json()["outcome"] == "duplicate"
    for auth in ("", "Bearer jmb_wrong", f"Basic {token}"):
        response = client.post(url, raw_mail(message_id="<x@y>"),
                               content_type="message/rfc822", headers={"Authorization": auth})
        assert response.status_code == 401
    assert client.post(f"/service/mail/inbound/{mailbox.pk + 99}/", raw,
                       content_type="message/rfc822",
                       headers={"Authorization": f"Bearer {token}"}).status_code == 401
    settings.JALIN_MAIL_MAX_BYTES = 100
    response = client.post(url, raw_mail(message_id="<big@y>"), content_type="message/rfc822",
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 413
    assert client.get(url).status_code == 405
    assert Case.objects.filter(organization=org).count() == 1


# --- API ------------------------------------------------------------------------------------


@pytest.fixture
def owner_api(owner, org):
    from jalin.api.testing import ApiClient, bearer_token_for
    from jalin.tenancy.models import Membership

    return ApiClient(token=bearer_token_for(Membership.objects.get(user=owner,
                                                                   organization=org)))


def test_api_manages_mailboxes_without_ever_returning_the_password(owner_api, org,
                                                                  outsider, other_org):
    from jalin.api.testing import ApiClient, bearer_token_for
    from jalin.tenancy.models import Membership

    response = owner_api.post("/service/mailboxes", {
        "address": "Help@Acme.example", "default_kind": "complaint", "imap_host": "imap.x",
        "imap_user": "help", "imap_password": "api-secret-pw", "imap_port": 993})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["address"] == "help@acme.example" and body["imap_password_set"] is True
    assert b"api-secret-pw" not in response.content and "imap_password" not in body
    box_id = body["id"]
    listed = owner_api.get("/service/mailboxes")
    assert [row["id"] for row in listed.json()["items"]] == [box_id]
    assert b"api-secret-pw" not in listed.content
    response = owner_api.patch(f"/service/mailboxes/{box_id}",
                               {"version": body["version"], "default_priority": "critical"})
    assert response.status_code == 200 and response.json()["default_priority"] == "critical"
    box = SupportMailbox.objects.get(pk=box_id)
    assert secret_decrypt(box.imap_password_encrypted) == "api-secret-pw"
    # Bad input: 4xx and nothing changed.
    for payload in ({"version": box.version, "default_kind": "bogus"},
                    {"version": box.version, "address": "nope"},
                    {"version": box.version + 3, "name": "stale"},
                    {"version": box.version, "unknown": 1}):
        response = owner_api.patch(f"/service/mailboxes/{box_id}", payload)
        assert 400 <= response.status_code < 500, payload
        assert response["Content-Type"].startswith("application/problem+json")
    assert owner_api.post("/service/mailboxes", {"address": "help@acme.example"}
                          ).status_code == 422
    box.refresh_from_db()
    assert (box.default_kind, box.name) == ("complaint", "")
    # The token is returned once and works on the HTTP endpoint.
    response = owner_api.post(f"/service/mailboxes/{box_id}/token")
    assert response.status_code == 201
    token = response.json()["token"]
    assert Client().post(f"/service/mail/inbound/{box_id}/", raw_mail(to="help@acme.example"),
                         content_type="message/rfc822",
                         headers={"Authorization": f"Bearer {token}"}).status_code == 202
    # An outsider's admin sees nothing of it.
    rival = ApiClient(token=bearer_token_for(Membership.objects.get(user=outsider)))
    assert rival.get(f"/service/mailboxes/{box_id}").status_code == 404
    assert rival.post(f"/service/mailboxes/{box_id}/token").status_code == 404
    assert rival.get("/service/mailboxes").json()["items"] == []
    assert owner_api.delete(f"/service/mailboxes/{box_id}").status_code == 204
    assert not SupportMailbox.objects.filter(pk=box_id).exists()
