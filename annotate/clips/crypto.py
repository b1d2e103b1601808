"""AES-GCM encryption at rest with key rings, and the keyed look-up hash.

A key ring is "kid:base64key,kid2:base64key". The first key encrypts; any key
in the ring decrypts, chosen by the key id stored beside the ciphertext, so keys
rotate by putting a new one first. Every ciphertext is bound to a context (the
clip's public id) as associated data: a blob moved to another clip fails to
decrypt, like a blob whose bytes were changed.

Large files (lead exports) are sealed as a stream (`encrypt_stream`, `decrypt_stream`),
so neither side holds the whole plaintext: a header, then chunks of at most 64 KiB,
each an AES-GCM message of its own (see STREAM_MAGIC).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import BinaryIO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MAGIC = b"AN1"
NONCE_BYTES = 12
TAG_BYTES = 16
# The stream format: STREAM_MAGIC, key id length (1 byte), key id, chunk size (4 bytes,
# big-endian, at most STREAM_CHUNK), a random nonce prefix (8 bytes); then the chunks,
# each chunk-size bytes of plaintext (the last one fewer, or none) sealed with AES-GCM:
# nonce = prefix + chunk counter (4 bytes), associated data = the header + counter +
# a last-chunk marker (1 byte) + the context. Chunks cannot be reordered, dropped or
# cut off at the end, and the stream cannot be moved to another context.
STREAM_MAGIC = b"AN2"
STREAM_CHUNK = 64 * 1024
STREAM_PREFIX_BYTES = 8


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


# --- streams ------------------------------------------------------------------------------


def _stream_ad(header: bytes, counter: int, *, last: bool, context: bytes) -> bytes:
    return header + struct.pack(">IB", counter, 1 if last else 0) + context


def _stream_nonce(prefix: bytes, counter: int) -> bytes:
    if counter >= 2**32:
        raise ValueError("stream too long: over 2**32 chunks")
    return prefix + struct.pack(">I", counter)


class StreamEncryptor:
    """A write-only file: plaintext written in goes out to `raw` as the stream format.

    Not seekable; `tell()` counts the plaintext written so far, which is all zipfile
    needs to write an archive through it (with data descriptors). Use it as a context
    manager: leaving normally seals the last chunk, leaving on an exception does not
    (the stream stays truncated, so it never decrypts). `raw` is left open.
    """

    def __init__(self, raw: BinaryIO, *, ring: KeyRing, context: str, chunk_size: int = STREAM_CHUNK) -> None:
        if not 0 < chunk_size <= STREAM_CHUNK:
            raise ValueError(f"chunk_size must be 1..{STREAM_CHUNK}")
        kid = ring.current_id.encode()
        if len(kid) > 255:
            raise ValueError("key id longer than 255 bytes")
        self.key_id = ring.current_id
        self._aead = AESGCM(ring.key(ring.current_id))
        self._prefix = os.urandom(STREAM_PREFIX_BYTES)
        self._header = STREAM_MAGIC + bytes([len(kid)]) + kid + struct.pack(">I", chunk_size) + self._prefix
        self._context = context.encode()
        self._chunk = chunk_size
        self._buffer = bytearray()
        self._counter = 0
        self._written = 0
        self._raw = raw
        self.closed = False
        raw.write(self._header)

    def _seal(self, plain: bytes, *, last: bool) -> None:
        ad = _stream_ad(self._header, self._counter, last=last, context=self._context)
        self._raw.write(self._aead.encrypt(_stream_nonce(self._prefix, self._counter), plain, ad))
        self._counter += 1

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self.closed:
            raise ValueError("write to a closed stream")
        size = memoryview(data).nbytes
        self._buffer += data
        self._written += size
        start = 0
        # A full chunk is sealed only once more follows: the last chunk is sealed by close().
        while len(self._buffer) - start > self._chunk:
            self._seal(bytes(self._buffer[start : start + self._chunk]), last=False)
            start += self._chunk
        del self._buffer[:start]
        return size

    def tell(self) -> int:
        return self._written

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def flush(self) -> None:
        self._raw.flush()

    def close(self) -> None:
        """Seal the last chunk (possibly empty). The stream is complete only after this."""
        if self.closed:
            return
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()
        self.closed = True
        self._raw.flush()

    def abort(self) -> None:
        """Stop without sealing the last chunk: what was written will not decrypt."""
        self._buffer.clear()
        self.closed = True

    def __enter__(self) -> StreamEncryptor:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def encrypt_stream(raw: BinaryIO, *, ring: KeyRing, context: str, chunk_size: int = STREAM_CHUNK) -> StreamEncryptor:
    """A file to write plaintext into; `raw` receives the stream format (see StreamEncryptor)."""
    return StreamEncryptor(raw, ring=ring, context=context, chunk_size=chunk_size)


def _read_exactly(readable: BinaryIO, size: int) -> bytes:
    parts = []
    while size > 0:
        part = readable.read(size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def decrypt_stream(readable: BinaryIO, *, ring: KeyRing, context: str) -> Iterator[bytes]:
    """The plaintext of a stream, chunk by chunk, each authenticated before it is yielded.

    Raises DecryptionError (at the header, or at the chunk where it goes wrong) when
    the stream was changed, reordered, cut short, belongs to another context, or its
    key is not in the ring. A stream cut short is noticed only at its end.
    """
    start = _read_exactly(readable, len(STREAM_MAGIC) + 1)
    if len(start) < len(STREAM_MAGIC) + 1 or not start.startswith(STREAM_MAGIC):
        raise DecryptionError("not an annotate stream")
    kid = _read_exactly(readable, start[-1])
    rest = _read_exactly(readable, 4 + STREAM_PREFIX_BYTES)
    if len(kid) < start[-1] or len(rest) < 4 + STREAM_PREFIX_BYTES:
        raise DecryptionError("stream header cut short")
    (chunk_size,) = struct.unpack(">I", rest[:4])
    if not 0 < chunk_size <= STREAM_CHUNK:
        raise DecryptionError("stream header names an impossible chunk size")
    header, prefix = start + kid + rest, rest[4:]
    aead = AESGCM(ring.key(kid.decode(errors="replace")))
    context_bytes = context.encode()
    sealed_size = chunk_size + TAG_BYTES
    counter = 0
    sealed = _read_exactly(readable, sealed_size)
    while True:
        following = _read_exactly(readable, sealed_size) if len(sealed) == sealed_size else b""
        last = not following
        ad = _stream_ad(header, counter, last=last, context=context_bytes)
        try:
            plain = aead.decrypt(_stream_nonce(prefix, counter), sealed, ad)
        except Exception:  # InvalidTag; ValueError on a piece shorter than a tag
            raise DecryptionError(
                f"stream chunk {counter} failed authentication (changed, reordered, cut short or misplaced)"
            ) from None
        yield plain
        if last:
            return
        sealed, counter = following, counter + 1


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
