"""Deploy checks: `manage.py check --deploy` refuses keys derived from SECRET_KEY, and
keys that are malformed, short, or the same in two of the three rings."""

from __future__ import annotations

import base64
import binascii

from django.conf import settings
from django.core.checks import Error, Tags, register

KEY_SETTINGS = ("ANNOTATE_DATA_KEY", "ANNOTATE_IDENTITY_KEY", "ANNOTATE_LOOKUP_KEY")
KEY_BYTES = 32


def _decode(b64: str) -> bytes | None:
    try:
        return base64.b64decode(b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def _keys(name: str, raw: str) -> tuple[list[bytes], list[Error]]:
    """The key bytes in one setting, and what is wrong with them (malformed, short), read
    as crypto reads them: a ring is 'id:base64key,...'; the look-up key is plain base64."""
    found: list[bytes] = []
    errors: list[Error] = []
    if name == "ANNOTATE_LOOKUP_KEY":
        key = _decode(raw)
        if key is None:
            return [], [_malformed(name, "not valid base64")]
        found.append(key)
    else:
        for item in (part.strip() for part in raw.split(",")):
            if not item:
                continue
            kid, sep, b64 = item.partition(":")
            key = _decode(b64) if sep and kid else None
            if key is None:
                errors.append(_malformed(name, f"{kid if sep else 'a key'!r} is not 'id:base64key'"))
            else:
                found.append(key)
        if not found and not errors:
            errors.append(_malformed(name, "it holds no key"))
    for key in found:
        if len(key) < KEY_BYTES:
            errors.append(
                Error(
                    f"{name} holds a key of {len(key)} bytes: keys are {KEY_BYTES} random bytes.",
                    hint="Make one: python -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())'",
                    id="annotate.E006",
                )
            )
        elif len(key) != KEY_BYTES and name != "ANNOTATE_LOOKUP_KEY":
            errors.append(_malformed(name, f"a key of {len(key)} bytes (AES-256 takes {KEY_BYTES})"))
    return found, errors


def _malformed(name: str, problem: str) -> Error:
    shape = "base64 of 32 random bytes" if name == "ANNOTATE_LOOKUP_KEY" else "'id:base64key,id2:base64key'"
    return Error(f"{name} is malformed: {problem}.", hint=f"{name} is {shape} (see README).", id="annotate.E005")


@register(Tags.security, deploy=True)
def keys_configured(app_configs, **kwargs):
    errors = []
    owners: dict[bytes, str] = {}
    for i, name in enumerate(KEY_SETTINGS, start=1):
        raw = getattr(settings, name)
        if not raw:
            errors.append(
                Error(
                    f"{name} is not set: keys are derived from SECRET_KEY, which is only fit for the demo.",
                    hint=f"Set {name} (see README, 'Environment variables').",
                    id=f"annotate.E00{i}",
                )
            )
            continue
        keys, problems = _keys(name, raw)
        errors += problems
        for key in keys:
            other = owners.setdefault(key, name)
            if other != name:
                errors.append(
                    Error(
                        f"{name} reuses a key of {other}: each ring needs keys of its own.",
                        hint="A key leaked from one ring must not open another: make a new key for each.",
                        id="annotate.E007",
                    )
                )
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        errors.append(Error("SQLite is only for the demo.", hint="Set DATABASE_URL to PostgreSQL.", id="annotate.E004"))
    return errors
