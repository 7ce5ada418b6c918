"""`jalin mail_poll [--mailbox ADDRESS]`: fetch unseen mail of the IMAP support mailboxes now
(the worker does the same every minute) and print what became of it."""

from django.core.management.base import BaseCommand, CommandError

from jalin.service.mail_models import SupportMailbox
from jalin.service.mail_transports import mailbox_poll


class Command(BaseCommand):
    help = "Poll the IMAP support mailboxes once."

    def add_arguments(self, parser):
        parser.add_argument("--mailbox", help="Only this address.")

    def handle(self, *, mailbox=None, **options):
        mailboxes = (SupportMailbox.objects.filter(is_active=True).exclude(imap_host="")
                     .exclude(imap_user="").select_related("organization").order_by("id"))
        if mailbox:
            mailboxes = mailboxes.filter(address=mailbox.strip().lower())
            if not mailboxes:
                raise CommandError(f"No active IMAP mailbox {mailbox!r}.")
        for box in mailboxes:
            counts = mailbox_poll(mailbox=box)
            summary = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
            self.stdout.write(f"{box.address}: {summary or 'no new mail'}")
