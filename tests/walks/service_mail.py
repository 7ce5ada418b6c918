"""Outsider walk routes for email to case (support mailboxes, the raw-mail endpoint)."""

from . import OWN, PUBLIC, REFUSE, Route

MAILBOX = {"pk": "service_mailbox"}
API_MAILBOX = {"mailbox_id": "service_mailbox"}

ROUTES = {
    "service/mailboxes/": Route(OWN),
    "service/mailboxes/<int:pk>/": Route(REFUSE, kwargs=MAILBOX),
    "service/mailboxes/<int:pk>/token/": Route(REFUSE, kwargs=MAILBOX, methods=("POST",)),
    "service/mailboxes/<int:pk>/delete/": Route(REFUSE, kwargs=MAILBOX, methods=("POST",)),
    # Relays post without a session; without the mailbox's token: 401, nothing written.
    "service/mail/inbound/<int:pk>/": Route(PUBLIC, kwargs=MAILBOX, methods=("POST",)),
    "api/v1/service/mailboxes": Route(OWN, methods=("GET", "POST"),
                                      body={"address": "taken@victim.example"}),
    "api/v1/service/mailboxes/<mailbox_id>": Route(
        REFUSE, kwargs=API_MAILBOX, methods=("GET", "PATCH", "DELETE"),
        body={"version": 1, "name": "Taken over"}),
    "api/v1/service/mailboxes/<mailbox_id>/token": Route(REFUSE, kwargs=API_MAILBOX,
                                                         methods=("POST",)),
}

API_ROUTES = {
    "/api/v1/service/mailboxes": {"get", "post"},
    "/api/v1/service/mailboxes/{mailbox_id}": {"get", "patch", "delete"},
    "/api/v1/service/mailboxes/{mailbox_id}/token": {"post"},
}


def victim_records(*, org, owner, records):
    from jalin.service.mailboxes import mailbox_create

    mailbox = mailbox_create(organization=org, actor=owner, address="secret@victim.example",
                             name="Victim Supply Secret Support", imap_host="imap.victim",
                             imap_user="victim", imap_password="Victim Supply Secret pw")
    return {"service_mailbox": mailbox}
