"""`jalin mail_inbound --host 0.0.0.0 --port 2525`: the SMTP server for email to case.

Point the MX of the support domain (or a forward/relay) at it. It accepts mail only for the
addresses of active support mailboxes (550 otherwise), refuses messages over
JALIN_MAIL_MAX_BYTES (552) and turns each message into a case or a case reply. Runs until
SIGINT/SIGTERM. Speak plain SMTP to it from a relay you trust; put TLS in front if it faces
the internet directly.
"""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from jalin.service.mail_transports import smtp_controller


class Command(BaseCommand):
    help = "Run the SMTP server that turns e-mail to support mailboxes into cases."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", type=int, default=8025, help="Port to listen on.")

    def handle(self, *, host, port, **options):
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_args: stop.set())
        controller = smtp_controller(host=host, port=port)
        try:
            controller.start()
        except (OSError, RuntimeError) as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc}") from exc
        self.stdout.write(f"Email to case: SMTP on {host}:{port} (Ctrl+C stops).")
        try:
            while not stop.wait(1):
                pass
        finally:
            controller.stop()
        self.stdout.write("Stopped.")
