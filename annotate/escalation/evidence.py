"""Evidence packages for a referral: a zip, encrypted with AES-256-GCM under a key shown once.

The zip holds the audio (the clip's decrypted WAV), the transcripts, the case
with its flags and timeline, and — when the exporting officer is one of the two
of an approved unsealing — the identity. The package is stored encrypted; the
key is returned to the officer once and never kept (only a short fingerprint, to
match a key to its file). File format:

    MAGIC (20 bytes) | nonce (12 bytes) | AES-GCM ciphertext of the zip (MAGIC as associated data)

Open it with `manage.py open_evidence FILE KEY OUT.zip`, or the few lines of
Python in docs/escalation.md.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import secrets
import zipfile
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from annotate.audit import services as audit
from annotate.clips import vault
from annotate.escalation import selectors
from annotate.escalation.models import Case, CaseEvent, EvidenceExport
from annotate.escalation.services import CaseError, _event, _locked_case, _require_officer, identity_for

MAGIC = b"ANNOTATE-EVIDENCE-1\x00"
NONCE_BYTES = 12


class EvidenceKeyError(ValueError):
    """The key is malformed, or does not open this file."""


def key_text(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def key_bytes(text: str) -> bytes:
    text = "".join(text.split())
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise EvidenceKeyError("the key is not valid (base64url text)") from None
    if len(key) != 32:
        raise EvidenceKeyError("the key must be 32 bytes (43 characters of base64url)")
    return key


def fingerprint(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:16]


def seal_package(plain: bytes) -> tuple[bytes, bytes]:
    """Return (encrypted file, key)."""
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE_BYTES)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, plain, MAGIC), key


def open_package(blob: bytes, key: str | bytes) -> bytes:
    """The zip inside an evidence file. Raises EvidenceKeyError on a wrong key or a changed file."""
    raw_key = key_bytes(key) if isinstance(key, str) else key
    if not blob.startswith(MAGIC):
        raise EvidenceKeyError("this is not an annotate evidence file")
    nonce = blob[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
    try:
        return AESGCM(raw_key).decrypt(nonce, blob[len(MAGIC) + NONCE_BYTES :], MAGIC)
    except Exception:  # InvalidTag
        raise EvidenceKeyError("the key does not open this file, or the file was changed") from None


def _case_document(case: Case) -> dict[str, Any]:
    reviewers: dict[int, str] = {}

    def reviewer_label(user_id: int) -> str:
        # Reviewers are named in the package only as "reviewer A", "reviewer B"…
        return reviewers.setdefault(user_id, f"reviewer {chr(ord('A') + len(reviewers))}")

    return {
        "case": case.pk,
        "clip": case.clip.public_id,
        "category": case.category,
        "severity": case.severity,
        "state": case.state,
        "referred_to": case.referred_to,
        "referral_reference": case.referral_reference,
        "opened_at": case.opened_at.isoformat(),
        "acknowledged_at": case.acknowledged_at.isoformat() if case.acknowledged_at else None,
        "referred_at": case.referred_at.isoformat() if case.referred_at else None,
        "clip_captured_at": case.clip.captured_at.isoformat() if case.clip.captured_at else None,
        "clip_duration_seconds": case.clip.duration_seconds,
        "flags": [
            {
                "by": reviewer_label(f.reviewer_id),
                "at": f.created_at.isoformat(),
                "category": f.category,
                "severity": f.severity,
                "note": f.note,
                "moment_seconds": f.moment_seconds,
                "annotation_so_far": f.draft,
            }
            for f in case.flags.order_by("created_at", "pk")
        ],
        "timeline": [
            {
                "at": e.at.isoformat(),
                "kind": e.kind,
                "by": (
                    reviewer_label(e.actor_id)
                    if e.kind == CaseEvent.Kind.FLAGGED and e.actor_id
                    else (e.actor.get_username() if e.actor_id else "system")
                ),
                "from": e.from_state,
                "to": e.to_state,
                "note": e.note,
            }
            for e in selectors.timeline(case)
        ],
    }


def _transcript_text(case: Case) -> str:
    t = selectors.transcript_of(case.clip)
    lines = [
        f"Case {case.pk}, clip {case.clip.public_id}",
        "",
        f"Machine transcript ({t['whisper_model'] or 'none'}):",
        t["whisper_text"] or "(none)",
        "",
        "What the assistant heard:",
        t["heard"] or "(none)",
        "",
        "What the assistant answered:",
        t["response"] or "(none)",
    ]
    for i, flag in enumerate(case.flags.order_by("created_at", "pk"), start=1):
        text = flag.draft.get("corrected_text", "")
        lines += ["", f"Reviewer's transcript so far (flag {i}):", text or "(none)"]
    return "\n".join(lines) + "\n"


@transaction.atomic
def export_evidence(*, case_id: int, officer, ip: str | None = None) -> tuple[EvidenceExport, str]:
    """Build, encrypt and store the package; return it and its key (shown once, never kept)."""
    _require_officer(officer)
    case = _locked_case(case_id)
    if case.referred_at is None:
        raise CaseError(gettext("case %(id)s was not referred: evidence packages are for referrals") % {"id": case.pk})
    files: dict[str, bytes] = {}
    try:
        files["audio.wav"] = vault.load_audio(case.clip)
    except FileNotFoundError:
        pass  # purged before the case (cannot happen while on hold): the package says so
    files["transcript.txt"] = _transcript_text(case).encode()
    files["case.json"] = json.dumps(_case_document(case), indent=2, ensure_ascii=False).encode()
    includes_identity = selectors.can_view_identity(case, officer)
    if includes_identity:
        identity = identity_for(case_id=case.pk, officer=officer, ip=ip, purpose="evidence export")
        files["identity.json"] = json.dumps(
            {
                "account_id": identity.account_id,
                "first_name": identity.first_name,
                "device_serial": identity.device_serial,
            },
            indent=2,
            ensure_ascii=False,
        ).encode()
    now = timezone.now()
    readme = [
        f"Evidence package of case {case.pk} (clip {case.clip.public_id}), made {now.isoformat()} "
        f"by officer {officer.get_username()}.",
        "",
        "Files and their SHA-256:",
        *(f"  {name}  {hashlib.sha256(data).hexdigest()}" for name, data in files.items()),
    ]
    if "audio.wav" not in files:
        readme += ["", "The audio had been purged before the case opened."]
    if not includes_identity:
        readme += ["", "No identity: none was unsealed for this officer on this case."]
    files["README.txt"] = ("\n".join(readme) + "\n").encode()

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=now.timetuple()[:6]), data)
    blob, key = seal_package(buf.getvalue())
    # Should the transaction roll back, the file left behind is ciphertext whose key nobody has.
    name = default_storage.save(f"evidence/{case.pk}/{secrets.token_hex(8)}.bin", ContentFile(blob))
    export = EvidenceExport.objects.create(
        case=case,
        created_by=officer,
        storage_name=name,
        size=len(blob),
        sha256=hashlib.sha256(blob).hexdigest(),
        key_fingerprint=fingerprint(key),
        includes_identity=includes_identity,
        contents=sorted(files),
    )
    _event(
        case,
        CaseEvent.Kind.EVIDENCE_EXPORTED,
        actor=officer,
        export=export.pk,
        includes_identity=includes_identity,
        contents=sorted(files),
    )
    audit.record(
        action="evidence.export",
        actor=officer,
        clip_public_id=case.clip.public_id,
        target=f"case:{case.pk}",
        ip=ip,
        details={"export": export.pk, "includes_identity": includes_identity, "sha256": export.sha256},
    )
    return export, key_text(key)


@transaction.atomic
def evidence_file(*, case_id: int, export_id: int, officer, ip: str | None = None) -> EvidenceExport:
    """The stored (encrypted) package, for an officer to download. Audited."""
    _require_officer(officer)
    export = EvidenceExport.objects.select_related("case__clip").filter(pk=export_id, case_id=case_id).first()
    if export is None:
        raise CaseError(gettext("case %(id)s has no evidence export %(export)s") % {"id": case_id, "export": export_id})
    _event(export.case, CaseEvent.Kind.EVIDENCE_DOWNLOADED, actor=officer, export=export.pk)
    audit.record(
        action="evidence.download",
        actor=officer,
        clip_public_id=export.case.clip.public_id,
        target=f"case:{case_id}",
        ip=ip,
        details={"export": export.pk},
    )
    return export


def read_blob(export: EvidenceExport) -> bytes:
    with vault.open_stored(export.storage_name) as fh:
        return fh.read()
