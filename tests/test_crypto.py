"""Encryption at rest: AES-GCM with key rings, bound to the clip; the stream format; the keyed look-up hash."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import stat

import pytest
from django.core.exceptions import ImproperlyConfigured

from annotate.clips import crypto, ingest, vault
from annotate.clips.models import Clip
from tests.support import AUDIO, CANARY, clip_meta

OLD_KEY = base64.b64encode(b"o" * 32).decode()
NEW_KEY = base64.b64encode(b"n" * 32).decode()


def import_clip(name: str = "timer.ogg", **meta) -> Clip:
    result = ingest.ingest_clip(data=(AUDIO / name).read_bytes(), meta=ingest.parse_meta(clip_meta(**meta)))
    assert result.clip is not None, result.message
    return result.clip


def flip(data: bytes, index: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 0x01
    return bytes(changed)


# --- the primitive --------------------------------------------------------------------------


def test_encrypt_decrypt_round_trip():
    ring = crypto.data_ring()
    plain = os.urandom(1000)

    key_id, blob = crypto.encrypt(plain, ring=ring, context="audio:c_1")

    assert key_id == ring.current_id
    assert blob.startswith(crypto.MAGIC)
    assert plain not in blob
    assert crypto.decrypt(blob, ring=ring, context="audio:c_1") == plain


def test_same_plain_text_encrypts_differently_each_time():
    ring = crypto.data_ring()

    assert crypto.encrypt(b"x" * 64, ring=ring, context="c")[1] != crypto.encrypt(b"x" * 64, ring=ring, context="c")[1]


@pytest.mark.parametrize(
    "blob",
    [b"", b"AN", b"RIFF....WAVE", crypto.MAGIC + b"\x00"],
    ids=["empty", "short", "plain-wav", "header-only"],
)
def test_garbage_is_a_decryption_error(blob):
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(blob, ring=crypto.data_ring(), context="c")


def test_data_and_identity_rings_are_different_keys():
    _, blob = crypto.encrypt(b"secret", ring=crypto.data_ring(), context="c")

    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(blob, ring=crypto.identity_ring(), context="c")


# --- the stream format (exports) ----------------------------------------------------------------


def seal_stream(plain: bytes, *, context: str = "export:1", chunk_size: int = 1000, pieces: int = 7) -> bytes:
    """The stream of `plain`, written in uneven pieces."""
    out = io.BytesIO()
    with crypto.encrypt_stream(out, ring=crypto.data_ring(), context=context, chunk_size=chunk_size) as sealed:
        step = max(1, len(plain) // pieces)
        for start in range(0, len(plain), step):
            sealed.write(plain[start : start + step])
        assert sealed.tell() == len(plain)
    return out.getvalue()


def open_stream(blob: bytes, *, context: str = "export:1") -> list[bytes]:
    return list(crypto.decrypt_stream(io.BytesIO(blob), ring=crypto.data_ring(), context=context))


def stream_header_size() -> int:
    return len(crypto.STREAM_MAGIC) + 1 + len(crypto.data_ring().current_id.encode()) + 4 + crypto.STREAM_PREFIX_BYTES


def chunk_at(blob: bytes, index: int, chunk_size: int = 1000) -> slice:
    start = stream_header_size() + index * (chunk_size + crypto.TAG_BYTES)
    return slice(start, start + chunk_size + crypto.TAG_BYTES)


@pytest.mark.parametrize("size", [3500, 3000, 999, 1, 0], ids=["3.5-chunks", "3-chunks-exactly", "short", "1", "0"])
def test_stream_round_trip_chunk_by_chunk(size):
    plain = os.urandom(size)

    blob = seal_stream(plain)
    chunks = open_stream(blob)

    assert b"".join(chunks) == plain
    assert [len(chunk) for chunk in chunks[:-1]] == [1000] * (len(chunks) - 1)
    assert len(chunks) == max(1, -(-size // 1000))  # an empty stream is one empty (last) chunk
    assert len(blob) == stream_header_size() + size + len(chunks) * crypto.TAG_BYTES
    if size >= 64:
        assert plain[:64] not in blob


def test_stream_chunks_are_at_most_64_kib_by_default():
    plain = os.urandom(200_000)
    out = io.BytesIO()
    with crypto.encrypt_stream(out, ring=crypto.data_ring(), context="export:1") as sealed:
        sealed.write(plain)  # one big write

    chunks = list(crypto.decrypt_stream(io.BytesIO(out.getvalue()), ring=crypto.data_ring(), context="export:1"))

    assert [len(chunk) for chunk in chunks] == [65536, 65536, 65536, 200_000 - 3 * 65536]
    assert b"".join(chunks) == plain


def test_the_same_plaintext_streams_differently_each_time():
    plain = b"x" * 2500

    assert seal_stream(plain) != seal_stream(plain)


@pytest.mark.parametrize("where", ["magic", "key-id", "chunk-size", "prefix", "first-chunk", "last-tag"])
def test_a_changed_byte_in_a_stream_fails(where):
    blob = seal_stream(os.urandom(2500))
    kid_len = len(crypto.data_ring().current_id)
    index = {
        "magic": 0,
        "key-id": len(crypto.STREAM_MAGIC) + 1,
        "chunk-size": len(crypto.STREAM_MAGIC) + 1 + kid_len + 3,
        "prefix": len(crypto.STREAM_MAGIC) + 1 + kid_len + 4,
        "first-chunk": stream_header_size() + 10,
        "last-tag": len(blob) - 1,
    }[where]

    with pytest.raises(crypto.DecryptionError):
        open_stream(flip(blob, index))


@pytest.mark.parametrize(
    "cut",
    ["last-chunk", "mid-chunk", "all-chunks", "mid-header", "everything"],
)
def test_a_truncated_stream_fails(cut):
    blob = seal_stream(os.urandom(2500))  # chunks of 1000, 1000, 500
    end = {
        "last-chunk": chunk_at(blob, 2).start,  # cut at a chunk boundary: the second chunk is not marked last
        "mid-chunk": chunk_at(blob, 1).start + 500,
        "all-chunks": stream_header_size(),
        "mid-header": 5,
        "everything": 0,
    }[cut]

    with pytest.raises(crypto.DecryptionError):
        open_stream(blob[:end])


def test_a_stream_with_bytes_added_fails():
    blob = seal_stream(os.urandom(2000))

    with pytest.raises(crypto.DecryptionError):
        open_stream(blob + os.urandom(crypto.TAG_BYTES + 10))


def test_swapped_chunks_fail():
    blob = seal_stream(os.urandom(3500))
    first, second = blob[chunk_at(blob, 0)], blob[chunk_at(blob, 1)]
    swapped = blob[: chunk_at(blob, 0).start] + second + first + blob[chunk_at(blob, 2).start :]

    assert len(swapped) == len(blob)
    with pytest.raises(crypto.DecryptionError, match="chunk 0"):
        open_stream(swapped)


def test_a_chunk_from_another_stream_fails():
    blob, other = seal_stream(os.urandom(2500)), seal_stream(os.urandom(2500))
    spliced = blob[: chunk_at(blob, 1).start] + other[chunk_at(other, 1)] + blob[chunk_at(blob, 2).start :]

    with pytest.raises(crypto.DecryptionError, match="chunk 1"):
        open_stream(spliced)


def test_a_stream_moved_to_another_context_fails():
    blob = seal_stream(os.urandom(2500), context="export:1")

    with pytest.raises(crypto.DecryptionError):
        open_stream(blob, context="export:2")


def test_stream_key_rotation(settings):
    settings.ANNOTATE_DATA_KEY = f"old:{OLD_KEY}"
    plain = os.urandom(2500)
    old_blob = seal_stream(plain)

    settings.ANNOTATE_DATA_KEY = f"new:{NEW_KEY},old:{OLD_KEY}"
    new_blob = seal_stream(plain)

    assert old_blob.startswith(crypto.STREAM_MAGIC + bytes([3]) + b"old")
    assert new_blob.startswith(crypto.STREAM_MAGIC + bytes([3]) + b"new")
    assert b"".join(open_stream(old_blob)) == b"".join(open_stream(new_blob)) == plain

    settings.ANNOTATE_DATA_KEY = f"new:{NEW_KEY}"  # the old key retired too early
    with pytest.raises(crypto.DecryptionError, match="unknown key id 'old'"):
        open_stream(old_blob)
    assert b"".join(open_stream(new_blob)) == plain


def test_a_stream_left_on_an_exception_never_decrypts():
    out = io.BytesIO()
    with pytest.raises(RuntimeError), crypto.encrypt_stream(out, ring=crypto.data_ring(), context="c") as sealed:
        sealed.write(os.urandom(2500))
        raise RuntimeError("the build failed")

    with pytest.raises(crypto.DecryptionError):
        list(crypto.decrypt_stream(io.BytesIO(out.getvalue()), ring=crypto.data_ring(), context="c"))
    with pytest.raises(ValueError, match="closed"):
        sealed.write(b"more")


def test_the_stream_writer_cannot_seek_and_refuses_odd_chunk_sizes():
    sealed = crypto.encrypt_stream(io.BytesIO(), ring=crypto.data_ring(), context="c")

    assert not sealed.seekable() and sealed.writable() and not hasattr(sealed, "seek")
    for size in (0, crypto.STREAM_CHUNK + 1):
        with pytest.raises(ValueError, match="chunk_size"):
            crypto.encrypt_stream(io.BytesIO(), ring=crypto.data_ring(), context="c", chunk_size=size)


def test_a_stream_header_with_a_huge_chunk_size_is_refused():
    blob = bytearray(seal_stream(b"hello"))
    at = len(crypto.STREAM_MAGIC) + 1 + len(crypto.data_ring().current_id)
    blob[at : at + 4] = (crypto.STREAM_CHUNK + 1).to_bytes(4, "big")

    with pytest.raises(crypto.DecryptionError, match="chunk size"):
        open_stream(bytes(blob))


# --- stored audio ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_stored_audio_is_ciphertext_and_round_trips(private_storage):
    clip = import_clip("timer.wav")

    blob = (private_storage / clip.audio_name).read_bytes()
    plain = vault.load_audio(clip)

    assert plain[:4] == b"RIFF" and plain[8:12] == b"WAVE"
    assert b"RIFF" not in blob and b"WAVE" not in blob
    assert plain[:44] not in blob  # the whole WAV header
    assert plain[44:1044] not in blob
    assert clip.audio_key_id == crypto.data_ring().current_id


@pytest.mark.django_db
def test_stored_audio_is_readable_by_the_app_alone(private_storage):
    clip = import_clip("timer.wav")
    path = private_storage / clip.audio_name

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((private_storage / "audio").stat().st_mode) == 0o700


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["magic", "key-id", "nonce", "middle", "tag"])
def test_a_changed_byte_in_the_stored_blob_fails_to_decrypt(where, private_storage):
    clip = import_clip()
    path = private_storage / clip.audio_name
    blob = path.read_bytes()
    kid_len = blob[len(crypto.MAGIC)]
    index = {
        "magic": 0,
        "key-id": len(crypto.MAGIC) + 1,
        "nonce": len(crypto.MAGIC) + 1 + kid_len,
        "middle": len(blob) // 2,
        "tag": len(blob) - 1,
    }[where]
    path.write_bytes(flip(blob, index))

    with pytest.raises(crypto.DecryptionError):
        vault.load_audio(clip)


@pytest.mark.django_db
def test_a_truncated_blob_fails_to_decrypt(private_storage):
    clip = import_clip()
    path = private_storage / clip.audio_name
    path.write_bytes(path.read_bytes()[:-100])

    with pytest.raises(crypto.DecryptionError):
        vault.load_audio(clip)


@pytest.mark.django_db
def test_a_blob_moved_to_another_clip_fails_to_decrypt(private_storage):
    first, second = import_clip("timer.ogg"), import_clip("timer.mp3")

    (private_storage / second.audio_name).write_bytes((private_storage / first.audio_name).read_bytes())

    with pytest.raises(crypto.DecryptionError, match="changed or misplaced"):
        vault.load_audio(second)
    assert vault.load_audio(first)[:4] == b"RIFF"


@pytest.mark.django_db
def test_a_sealed_identity_moved_to_another_clip_fails_to_unseal():
    first, second = import_clip("timer.ogg", **CANARY.meta()), import_clip("timer.mp3")
    stolen = first.sealed_identity.ciphertext
    target = second.sealed_identity
    target.ciphertext = stolen
    target.save()
    target.refresh_from_db()

    with pytest.raises(crypto.DecryptionError):
        vault.unseal_identity(target)
    assert vault.unseal_identity(first.sealed_identity) == vault.Identity(*CANARY.values)


# --- key rotation ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_data_key_rotation_keeps_old_audio_readable(settings, private_storage):
    settings.ANNOTATE_DATA_KEY = f"old:{OLD_KEY}"
    old_clip = import_clip("timer.ogg")

    settings.ANNOTATE_DATA_KEY = f"new:{NEW_KEY},old:{OLD_KEY}"
    new_clip = import_clip("timer.mp3")

    assert (old_clip.audio_key_id, new_clip.audio_key_id) == ("old", "new")
    new_blob = (private_storage / new_clip.audio_name).read_bytes()
    assert new_blob.startswith(crypto.MAGIC + bytes([3]) + b"new")
    assert vault.load_audio(old_clip)[:4] == b"RIFF"
    assert vault.load_audio(new_clip)[:4] == b"RIFF"

    settings.ANNOTATE_DATA_KEY = f"new:{NEW_KEY}"  # the old key retired too early
    with pytest.raises(crypto.DecryptionError, match="unknown key id 'old'"):
        vault.load_audio(old_clip)
    assert vault.load_audio(new_clip)[:4] == b"RIFF"


@pytest.mark.django_db
def test_identity_key_rotation_keeps_old_identities_unsealable(settings):
    settings.ANNOTATE_IDENTITY_KEY = f"old:{OLD_KEY}"
    old_clip = import_clip("timer.ogg", **CANARY.meta())

    settings.ANNOTATE_IDENTITY_KEY = f"new:{NEW_KEY},old:{OLD_KEY}"
    new_clip = import_clip("timer.mp3", account_id="ACCT-NEW")

    assert (old_clip.sealed_identity.key_id, new_clip.sealed_identity.key_id) == ("old", "new")
    assert vault.unseal_identity(old_clip.sealed_identity).account_id == CANARY.account_id
    assert vault.unseal_identity(new_clip.sealed_identity).account_id == "ACCT-NEW"


def test_a_different_data_key_cannot_read_the_blob(settings):
    settings.ANNOTATE_DATA_KEY = f"k:{OLD_KEY}"
    _, blob = crypto.encrypt(b"audio", ring=crypto.data_ring(), context="c")

    settings.ANNOTATE_DATA_KEY = f"k:{NEW_KEY}"  # same id, different key
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(blob, ring=crypto.data_ring(), context="c")


# --- configuration ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("just-a-key", "each key must be 'id:base64key'"),
        (f":{NEW_KEY}", "each key must be 'id:base64key'"),
        ("k:not base64!", "key 'k' is not valid base64"),
        (f"k:{base64.b64encode(b'short').decode()}", "key 'k' must be 32 bytes, not 5"),
        (" , ", "holds no key"),
        (f"new:{NEW_KEY},broken", "each key must be 'id:base64key'"),
    ],
    ids=["no-id", "empty-id", "not-base64", "short-key", "empty-ring", "one-bad-of-two"],
)
@pytest.mark.parametrize("setting", ["ANNOTATE_DATA_KEY", "ANNOTATE_IDENTITY_KEY"])
def test_a_bad_key_ring_is_improperly_configured(settings, setting, raw, message):
    setattr(settings, setting, raw)
    ring = crypto.data_ring if setting == "ANNOTATE_DATA_KEY" else crypto.identity_ring

    with pytest.raises(ImproperlyConfigured, match=f"^{setting}:? .*{message}"):
        ring()


def test_the_first_key_of_a_ring_encrypts(settings):
    settings.ANNOTATE_DATA_KEY = f" new:{NEW_KEY} , old:{OLD_KEY} "

    ring = crypto.data_ring()

    assert ring.current_id == "new"
    assert set(ring.keys) == {"new", "old"}


def test_without_keys_the_rings_derive_from_secret_key(settings):
    settings.ANNOTATE_DATA_KEY = ""
    first = crypto.data_ring()
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"

    assert crypto.data_ring().keys != first.keys
    assert crypto.data_ring().current_id == "dev-data"


# --- the keyed look-up hash ---------------------------------------------------------------------------


def test_lookup_hash_is_keyed(settings):
    settings.ANNOTATE_LOOKUP_KEY = OLD_KEY
    under_old = crypto.lookup_hash(CANARY.account_id)
    settings.ANNOTATE_LOOKUP_KEY = NEW_KEY
    under_new = crypto.lookup_hash(CANARY.account_id)

    assert under_old != under_new
    assert crypto.lookup_hash(CANARY.account_id) == under_new
    assert crypto.lookup_hash(f"  {CANARY.account_id} ") == under_new
    assert crypto.lookup_hash("ACCT-OTHER") != under_new
    assert under_new != hashlib.sha256(CANARY.account_id.encode()).hexdigest()
    assert CANARY.account_id not in under_new


def test_lookup_hash_without_a_key_derives_one_from_secret_key(settings):
    settings.ANNOTATE_LOOKUP_KEY = ""
    derived = crypto.lookup_hash(CANARY.account_id)
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"

    assert crypto.lookup_hash(CANARY.account_id) != derived


def test_a_bad_lookup_key_is_improperly_configured(settings):
    settings.ANNOTATE_LOOKUP_KEY = "not base64!"

    with pytest.raises(ImproperlyConfigured, match="ANNOTATE_LOOKUP_KEY is not valid base64"):
        crypto.lookup_hash(CANARY.account_id)
