"""`manage.py check --deploy`: the three key settings must be set, well formed, long
enough, and each ring's keys its own (a key leaked from one ring opens no other)."""

from __future__ import annotations

import base64
import os

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from annotate.clips.checks import keys_configured


def key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def ids(settings) -> list[str]:
    return sorted(error.id for error in keys_configured(None) if error.id != "annotate.E004")


@pytest.fixture
def good_keys(settings):
    settings.ANNOTATE_DATA_KEY = f"d1:{key()},d0:{key()}"
    settings.ANNOTATE_IDENTITY_KEY = f"i1:{key()}"
    settings.ANNOTATE_LOOKUP_KEY = key()
    return settings


def test_well_formed_distinct_keys_pass(good_keys):
    assert ids(good_keys) == []


def test_unset_keys_are_errors(settings):
    settings.ANNOTATE_DATA_KEY = settings.ANNOTATE_IDENTITY_KEY = settings.ANNOTATE_LOOKUP_KEY = ""
    assert ids(settings) == ["annotate.E001", "annotate.E002", "annotate.E003"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ANNOTATE_DATA_KEY", "garbage"),
        ("ANNOTATE_DATA_KEY", "d1:not base64!"),
        ("ANNOTATE_DATA_KEY", f"d1:{base64.b64encode(os.urandom(48)).decode()}"),  # not an AES-256 key
        ("ANNOTATE_IDENTITY_KEY", ":" + base64.b64encode(os.urandom(32)).decode()),  # no key id
        ("ANNOTATE_IDENTITY_KEY", ","),
        ("ANNOTATE_LOOKUP_KEY", "garbage!"),
        ("ANNOTATE_LOOKUP_KEY", "i1:" + base64.b64encode(os.urandom(32)).decode()),  # a ring, not a key
    ],
)
def test_malformed_keys_are_errors(good_keys, name, value):
    setattr(good_keys, name, value)
    assert ids(good_keys) == ["annotate.E005"]


@pytest.mark.parametrize("name", ["ANNOTATE_DATA_KEY", "ANNOTATE_IDENTITY_KEY", "ANNOTATE_LOOKUP_KEY"])
def test_short_keys_are_errors(good_keys, name):
    short = base64.b64encode(b"password1234").decode()
    setattr(good_keys, name, short if name == "ANNOTATE_LOOKUP_KEY" else f"k1:{short}")
    assert ids(good_keys) == ["annotate.E006"]


def test_one_key_for_all_three_rings_is_an_error(good_keys):
    same = key()
    good_keys.ANNOTATE_DATA_KEY = f"d1:{same}"
    good_keys.ANNOTATE_IDENTITY_KEY = f"i1:{same}"
    good_keys.ANNOTATE_LOOKUP_KEY = same
    errors = [e for e in keys_configured(None) if e.id == "annotate.E007"]
    assert [e.msg for e in errors] == [
        "ANNOTATE_IDENTITY_KEY reuses a key of ANNOTATE_DATA_KEY: each ring needs keys of its own.",
        "ANNOTATE_LOOKUP_KEY reuses a key of ANNOTATE_DATA_KEY: each ring needs keys of its own.",
    ]


def test_an_old_key_of_one_ring_reused_in_another_is_an_error(good_keys):
    old = key()
    good_keys.ANNOTATE_DATA_KEY = f"d2:{key()},d1:{old}"
    good_keys.ANNOTATE_IDENTITY_KEY = f"i1:{old}"
    assert ids(good_keys) == ["annotate.E007"]


def test_check_deploy_fails_on_a_garbage_key(good_keys):
    good_keys.ANNOTATE_DATA_KEY = "garbage"
    with pytest.raises(SystemCheckError, match="ANNOTATE_DATA_KEY is malformed"):
        call_command("check", "--deploy", "--fail-level", "ERROR")
