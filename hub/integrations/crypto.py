"""Encryption of secrets at rest (Fernet: AES-128-CBC + HMAC-SHA256, with a timestamp).

Keys come from the `ENCRYPTION_KEYS` setting: comma-separated Fernet keys. The
first key encrypts; every key decrypts, so a key is rotated by putting a new
one first, re-encrypting the stored values (`flask --app wsgi hub
rotate-encryption`), and then dropping the old key.

Plain values in and out: this module reads no settings and no models.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# Domain separation: the derived key is not usable as anything else made from SECRET_KEY.
_DERIVATION_LABEL = b"integration-hub/encryption-at-rest/v1"


class DecryptionError(Exception):
    """A stored value could not be decrypted with any configured key."""


def generate_key() -> str:
    """A new random Fernet key (for ENCRYPTION_KEYS)."""
    return Fernet.generate_key().decode("ascii")


def derive_key(secret: str) -> str:
    """A stable Fernet key derived from a secret (development and testing only)."""
    digest = hmac.new(secret.encode("utf-8"), _DERIVATION_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


def parse_keys(value: str | Sequence[str]) -> list[str]:
    """Split and check a comma-separated key list; ValueError says which key is wrong.

    The message never contains key material.
    """
    keys = [k.strip() for k in value.split(",")] if isinstance(value, str) else list(value)
    keys = [k for k in keys if k]
    if not keys:
        raise ValueError("no keys given")
    for position, key in enumerate(keys, start=1):
        try:
            raw = base64.urlsafe_b64decode(key.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ValueError(f"key {position} is not a Fernet key (32 url-safe base64-encoded bytes; "
                             "make one with `python -c 'from cryptography.fernet import Fernet; "
                             "print(Fernet.generate_key().decode())'`)")
    return keys


class SecretBox:
    """Encrypts with the first key, decrypts with any of them."""

    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = parse_keys(keys)
        self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in self._keys])

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise DecryptionError("the value was not encrypted with any configured key") from exc

    def rotate(self, token: str) -> str:
        """The same plaintext, encrypted again with the first key."""
        try:
            return self._fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError) as exc:
            raise DecryptionError("the value was not encrypted with any configured key") from exc
