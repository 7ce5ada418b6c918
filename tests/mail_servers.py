"""Real mail servers on localhost for the email-to-case tests.

- `smtp_sink()`: an aiosmtpd server that keeps what it receives (Django's SMTP backend sends
  to it, so the test reads the reply exactly as a mail server got it).
- `Dovecot`: a private dovecot IMAP server (Debian's dovecot-imapd) with its own config file,
  a passwd-file user with a plaintext password, maildir storage, no TLS, run in the
  foreground (`dovecot -F`) as a subprocess and stopped afterwards. Dovecot must start as
  root (it switches to the mail user, which may not be root: uid 0 is refused), so the maildir
  (owned by `nobody`) and the passwd file (read by dovecot's unprivileged auth process) live
  in a temporary directory under /tmp that those users can reach (pytest's tmp_path is
  inside a root-only directory), and so do the runtime sockets; config and logs stay in the
  test's tmp_path.
"""

import contextlib
import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, *, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        time.sleep(0.05)
    return False


@dataclass
class Sink:
    envelopes: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"


@contextlib.contextmanager
def smtp_sink():
    from aiosmtpd.controller import Controller

    handler = Sink()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def dovecot_missing_reason():
    if not os.path.exists(DOVECOT):
        return "dovecot is not installed (apt-get install dovecot-imapd)"
    if os.geteuid() != 0:
        return "dovecot must start as root to switch to the mail user"
    return ""


CONFIG = """\
base_dir = {run}
state_dir = {state}
log_path = {log}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{mail}/%u
first_valid_uid = {uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {passwd}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


class Dovecot:
    user = "support"
    password = "imap-test-password"  # noqa: S105 - a throwaway test server

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process = None
        self.shared = None
        self.maildir = None

    @property
    def log(self):
        path = self.directory / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def start(self):
        nobody = pwd.getpwnam("nobody")
        nogroup = grp.getgrgid(nobody.pw_gid)
        # Readable by dovecot's unprivileged auth and mail processes (tmp_path is not).
        self.shared = Path(tempfile.mkdtemp(prefix="jalin-dovecot-"))
        self.shared.chmod(0o755)
        self.maildir = self.shared / "mail"
        self.maildir.mkdir()
        os.chown(self.maildir, nobody.pw_uid, nogroup.gr_gid)
        for name in ("run", "state"):
            (self.shared / name).mkdir()
        passwd = self.shared / "passwd"
        passwd.write_text(f"{self.user}:{{PLAIN}}{self.password}:{nobody.pw_uid}:"
                          f"{nobody.pw_gid}::{self.maildir}/{self.user}\n")
        config = self.directory / "dovecot.conf"
        config.write_text(CONFIG.format(
            run=self.shared / "run", state=self.shared / "state",
            log=self.directory / "dovecot.log", mail=self.maildir, uid=nobody.pw_uid,
            passwd=passwd, port=self.port))
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [DOVECOT, "-F", "-c", str(config)],
            stdout=open(self.directory / "stdout.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        if not wait_for_port(self.port):
            self.stop()
            raise RuntimeError(f"dovecot did not start:\n{self.log}")
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.shared is not None:
            shutil.rmtree(self.shared, ignore_errors=True)

    def client(self):
        client = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        client.login(self.user, self.password)
        return client

    def append(self, raw, *, folder="INBOX", seen=False):
        client = self.client()
        try:
            status, data = client.append(folder, "(\\Seen)" if seen else None, None, raw)
            assert status == "OK", data
        finally:
            client.logout()

    def unseen(self, folder="INBOX"):
        client = self.client()
        try:
            client.select(folder)
            _, data = client.uid("SEARCH", None, "UNSEEN")
            return (data[0] or b"").split()
        finally:
            client.logout()
