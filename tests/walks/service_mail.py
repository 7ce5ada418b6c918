"""Outsider walk routes for email to case (support mailboxes, the raw-mail endpoint)."""

from . import OWN, PUBLIC, REFUSE, Route

MAILBOX = {"pk": "service_mailbox"}

ROUTES = {
    "service/mailboxes/": Route(OWN),
    "service/mailboxes/<int:pk>/": Route(REFUSE, kwargs=MAILBOX),
    "service/mailboxes/<int:pk>/token/": Route(REFUSE, kwargs=MAILBOX, methods=("POST",)),
    "service/mailboxes/<int:pk>/delete/": Route(REFUSE, kwargs=MAILBOX, methods=("POST",)),
    # Relays post without a session; without the mailbox's token: 401, nothing written.
    "service/mail/inbound/<int:pk>/": Route(PUBLIC, kwargs=MAILBOX, methods=("POST",)),
}


def victim_records(*, org, owner, records):
    from jalin.service.mailboxes import mailbox_create

    mailbox = mailbox_create(organization=org, actor=owner, address="secret@victim.example",
                             name="Victim Supply Secret Support", imap_host="imap.victim",
                             imap_user="victim", imap_password="Victim Supply Secret pw")
    return {"service_mailbox": mailbox}
