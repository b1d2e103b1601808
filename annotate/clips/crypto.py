"""AES-GCM encryption at rest with key rings, and the keyed look-up hash.

A key ring is "kid:base64key,kid2:base64key". The first key encrypts; any key
in the ring decrypts, chosen by the key id stored beside the ciphertext, so keys
rotate by putting a new one first. Every ciphertext is bound to a context (the
clip's public id) as associated data: a blob moved to another clip fails to
decrypt, like a blob whose bytes were changed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MAGIC = b"AN1"
NONCE_BYTES = 12


class DecryptionError(Exception):
    """The ciphertext was changed, belongs elsewhere, or its key is unknown."""


@dataclass(frozen=True)
class KeyRing:
    current_id: str
    keys: dict[str, bytes]

    def key(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise DecryptionError(f"unknown key id {key_id!r}") from None


def _derived_key(label: str) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=f"annotate:{label}".encode()).derive(
        settings.SECRET_KEY.encode()
    )


def parse_key_ring(raw: str, *, setting: str) -> KeyRing:
    keys: dict[str, bytes] = {}
    first = ""
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        kid, sep, b64 = item.partition(":")
        if not sep or not kid:
            raise ImproperlyConfigured(f"{setting}: each key must be 'id:base64key'")
        try:
            key = base64.b64decode(b64, validate=True)
        except ValueError:
            raise ImproperlyConfigured(f"{setting}: key {kid!r} is not valid base64") from None
        if len(key) != 32:
            raise ImproperlyConfigured(f"{setting}: key {kid!r} must be 32 bytes, not {len(key)}")
        keys[kid] = key
        first = first or kid
    if not keys:
        raise ImproperlyConfigured(f"{setting} holds no key")
    return KeyRing(current_id=first, keys=keys)


@cache
def _ring(setting: str, label: str, raw: str, secret: str) -> KeyRing:
    if raw:
        return parse_key_ring(raw, setting=setting)
    return KeyRing(current_id=f"dev-{label}", keys={f"dev-{label}": _derived_key(label)})


def data_ring() -> KeyRing:
    return _ring("ANNOTATE_DATA_KEY", "data", settings.ANNOTATE_DATA_KEY, settings.SECRET_KEY)


def identity_ring() -> KeyRing:
    return _ring("ANNOTATE_IDENTITY_KEY", "identity", settings.ANNOTATE_IDENTITY_KEY, settings.SECRET_KEY)


def encrypt(plain: bytes, *, ring: KeyRing, context: str) -> tuple[str, bytes]:
    """Return (key id, blob). The blob carries its key id, so it stands alone."""
    kid = ring.current_id.encode()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(ring.key(ring.current_id)).encrypt(nonce, plain, context.encode())
    return ring.current_id, MAGIC + bytes([len(kid)]) + kid + nonce + sealed


def decrypt(blob: bytes, *, ring: KeyRing, context: str) -> bytes:
    if len(blob) < len(MAGIC) + 1 or not blob.startswith(MAGIC):
        raise DecryptionError("not an annotate ciphertext")
    kid_len = blob[len(MAGIC)]
    start = len(MAGIC) + 1
    kid = blob[start : start + kid_len].decode(errors="replace")
    nonce = blob[start + kid_len : start + kid_len + NONCE_BYTES]
    sealed = blob[start + kid_len + NONCE_BYTES :]
    try:
        return AESGCM(ring.key(kid)).decrypt(nonce, sealed, context.encode())
    except DecryptionError:
        raise
    except Exception:  # cryptography raises InvalidTag, ValueError on short data
        raise DecryptionError("ciphertext failed authentication (changed or misplaced)") from None


@cache
def _lookup_key(raw: str, secret: str) -> bytes:
    if not raw:
        return _derived_key("lookup")
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        raise ImproperlyConfigured("ANNOTATE_LOOKUP_KEY is not valid base64") from None


def lookup_hash(value: str) -> str:
    """Keyed hash of a subject identifier, for opt-out and deletion look-ups."""
    key = _lookup_key(settings.ANNOTATE_LOOKUP_KEY, settings.SECRET_KEY)
    return hmac.new(key, value.strip().encode(), hashlib.sha256).hexdigest()
