"""Encrypted audio and sealed identities at rest.

Audio is stored through Django's default storage (a private folder by default),
only ever as AES-GCM ciphertext bound to the clip's public id.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from annotate.clips import crypto
from annotate.clips.models import Clip, SealedIdentity


@dataclass(frozen=True)
class Identity:
    account_id: str
    first_name: str
    device_serial: str


def store_audio(*, public_id: str, wav: bytes) -> tuple[str, str]:
    """Encrypt and store; return (storage name, key id)."""
    key_id, blob = crypto.encrypt(wav, ring=crypto.data_ring(), context=f"audio:{public_id}")
    name = default_storage.save(f"audio/{public_id[-2:]}/{public_id}.bin", ContentFile(blob))
    return name, key_id


def store_variant(*, public_id: str, kind: str, wav: bytes) -> tuple[str, str]:
    """Encrypt and store a processed version of a clip (annotate.clips.screening); (name, key id)."""
    key_id, blob = crypto.encrypt(wav, ring=crypto.data_ring(), context=f"audio:{public_id}:{kind}")
    name = default_storage.save(f"audio/{public_id[-2:]}/{public_id}.{kind}.bin", ContentFile(blob))
    return name, key_id


def load_variant(*, public_id: str, kind: str, name: str) -> bytes:
    with open_stored(name) as fh:
        blob = fh.read()
    return crypto.decrypt(blob, ring=crypto.data_ring(), context=f"audio:{public_id}:{kind}")


def open_stored(name: str):
    """A stored file (audio, export, evidence) to read from the start, streamed.

    On S3 (django-storages) the object's body is read as it arrives over HTTP: `Storage.open`
    would first copy the whole object into a temporary file. A clip's audio is read whole
    anyway (AES-GCM decrypts and checks it at once), an export is decrypted chunk by chunk
    as the download goes (crypto.decrypt_stream). FileNotFoundError if it is not there.
    """
    bucket = getattr(default_storage, "bucket", None)
    if bucket is None:
        return default_storage.open(name, "rb")
    from botocore.exceptions import ClientError

    try:
        return bucket.Object(default_storage._normalize_name(clean_name(name))).get()["Body"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise FileNotFoundError(name) from exc
        raise


def clean_name(name: str) -> str:
    from storages.utils import clean_name as clean

    return clean(name)


def load_audio(clip: Clip) -> bytes:
    """The clip's normalised WAV, decrypted in memory."""
    if not clip.audio_name:
        raise FileNotFoundError(f"clip {clip.public_id} has no audio (purged)")
    with open_stored(clip.audio_name) as fh:
        blob = fh.read()
    return crypto.decrypt(blob, ring=crypto.data_ring(), context=f"audio:{clip.public_id}")


log = logging.getLogger(__name__)


def delete_audio(name: str) -> None:
    if name and default_storage.exists(name):
        default_storage.delete(name)


def delete_after_commit(*names: str) -> None:
    """Delete these stored files (audio, exports, evidence) once the current transaction commits,
    so a rollback never leaves a row pointing at a deleted file. A failure is logged, never raised."""
    kept = [name for name in names if name]
    if kept:
        transaction.on_commit(lambda: delete_stored(kept))


def delete_stored(names: list[str]) -> None:
    """Delete these stored files now; a failure is logged, never raised."""
    for name in names:
        try:
            delete_audio(name)
        except OSError:
            log.exception("could not delete stored file %s", name)


def seal_identity(*, clip: Clip, identity: Identity, account_hash: str) -> SealedIdentity:
    key_id, blob = crypto.encrypt(
        json.dumps(asdict(identity)).encode(), ring=crypto.identity_ring(), context=f"identity:{clip.public_id}"
    )
    return SealedIdentity.objects.create(clip=clip, account_hash=account_hash, key_id=key_id, ciphertext=blob)


def unseal_identity(sealed: SealedIdentity) -> Identity:
    """Only the escalation workflow may call this, and it audits every call."""
    plain = crypto.decrypt(
        bytes(sealed.ciphertext), ring=crypto.identity_ring(), context=f"identity:{sealed.clip.public_id}"
    )
    return Identity(**json.loads(plain))
