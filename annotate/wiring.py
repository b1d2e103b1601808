"""Where a lower app must call into a higher one, the higher function is named in
settings.ANNOTATE_WIRING and looked up here, so the import graph still runs one way
down (docs/architecture.md). Each name says what the lower app asks, not who answers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import import_module
from typing import Any

from django.conf import settings


@cache
def _resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.rpartition(".")
    return getattr(import_module(module), name)


def call(name: str, **kwargs: Any) -> Any:
    """Call the function wired to `name` (settings.ANNOTATE_WIRING) with keyword arguments."""
    return _resolve(settings.ANNOTATE_WIRING[name])(**kwargs)
