"""Encryption of stored mailbox secrets (the IMAP password).

Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`) with a key derived from SECRET_KEY;
SECRET_KEY_FALLBACKS still decrypt, so rotating the secret key keeps mailboxes working until
their passwords are saved again. A database dump alone does not reveal the passwords.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

_SALT = b"jalin.service.mailbox-secret"


def _fernet_for(secret_key):
    digest = hashlib.sha256(_SALT + b"\x00" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _fernet():
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet_for(key) for key in keys])


def secret_encrypt(plaintext: str) -> str:
    if not plaintext:
        return ""
    return _fernet().encrypt(plaintext.encode()).decode()


def secret_decrypt(ciphertext: str) -> str:
    """The plaintext, or "" when there is none or it cannot be decrypted (key rotated away)."""
    if not ciphertext:
        return ""
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        return ""
