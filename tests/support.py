"""Helpers shared by the test modules: test recordings, manifests, the canary identity."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import Group, User

FIXTURES = Path(__file__).parent / "fixtures"
AUDIO = FIXTURES / "audio"
PASSWORD = "correct horse battery staple"
# Debian's Chromium, headless, as root, with no network but the loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def make_user(username: str, *groups: str, **fields) -> User:
    user = User.objects.create_user(username=username, password=PASSWORD, **fields)
    if groups:
        # get_or_create: migration 0002 makes the groups, but a transactional test's flush removes them.
        user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in groups))
    return user


def stored_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


# --- clip metadata and the canary identity -----------------------------------------------


@dataclass(frozen=True)
class Canary:
    """Identity values that must never show up anywhere but the sealed record."""

    account_id: str = "ACCT-CANARY-7731"
    first_name: str = "Zebulonia"
    device_serial: str = "SERIAL-CANARY-99"

    @property
    def values(self) -> tuple[str, str, str]:
        return (self.account_id, self.first_name, self.device_serial)

    def meta(self, **overrides) -> dict:
        identity = {"account_id": self.account_id, "first_name": self.first_name, "device_serial": self.device_serial}
        return clip_meta(**{**identity, **overrides})

    def found_in(self, text: str | bytes) -> list[str]:
        """The canary values present in `text` (case-insensitive): should be []."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        lowered = text.lower()
        return [value for value in self.values if value.lower() in lowered]


CANARY = Canary()


def clip_meta(**overrides) -> dict:
    """A valid manifest object (without "audio")."""
    meta = {
        "captured_at": "2026-11-20T14:03:11+00:00",
        "locale": "en-US",
        "device_type": "speaker",
        "heard": "set a timer for ten minutes",
        "response": "Ten minutes, starting now",
        "intent": "SetTimer",
        "wake_word_score": 0.91,
        "account_id": "ACCT-0000-0001",
        "first_name": "Sam",
        "device_serial": "G090LF0000000001",
        "opted_out": False,
    }
    meta.update(overrides)
    return meta


def write_manifest(path: Path, lines: list[dict | str]) -> Path:
    """A JSONL manifest; a str line is written as is (for bad JSON)."""
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path
