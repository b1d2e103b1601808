"""The pages' import map (`{% load importmap %}{% importmap %}`, in base.html's head).

Two kinds of entries:

- bare names of the vendor libraries (VENDOR), e.g. `import WaveSurfer from "wavesurfer"`:
  the package's own minified ES module build, served from node_modules (settings'
  STATICFILES_DIRS);
- with `collectstatic`'s manifest (production, `make demo`), each of our own modules'
  plain URL mapped to its hashed one. Templates name hashed files (`{% static %}`) but a
  module's own imports (`import … from "./dom.js"`, `import("./spans.js")`) name plain
  files: without the map the browser fetched every module twice, the hashed copy the
  page preloads and the plain one the import names (cached for 60 s only). Without the
  manifest (tests, ANNOTATE_STATIC_MANIFEST=0) names are plain and only the bare names
  are listed.

The map goes before any module script or preload, with the request's CSP nonce (the
one inline script the policy admits), on the pages that load ES modules: those whose
template names a module script, a module preload or an import map of its own. Other
pages carry none, and their policy no nonce.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from urllib.parse import quote

from django import template
from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

# Bare module names → static files (the npm package's minified ES module builds).
VENDOR = {
    "wavesurfer": "vendor/wavesurfer/wavesurfer.esm.js",
    "wavesurfer/plugins/regions": "vendor/wavesurfer/plugins/regions.esm.js",
}

USES_MODULES = re.compile(r"""type=["']?(module|importmap)|rel=["']?modulepreload""")
_JSON_IN_SCRIPT = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


@functools.cache
def _our_modules(folders: tuple[str, ...]) -> tuple[str, ...]:
    """Static names of the .js files in our own static folders (STATICFILES_DIRS entries without a prefix)."""
    names: list[str] = []
    for folder in map(Path, folders):
        names += (path.relative_to(folder).as_posix() for path in folder.rglob("*.js"))
    return tuple(sorted(names))


def imports() -> dict[str, str]:
    """The map's "imports": bare vendor names, then our modules whose served URL differs from the plain one."""
    entries = {name: staticfiles_storage.url(path) for name, path in VENDOR.items()}
    folders = tuple(str(entry) for entry in settings.STATICFILES_DIRS if not isinstance(entry, tuple))
    for name in _our_modules(folders):
        plain = settings.STATIC_URL + quote(name)
        served = staticfiles_storage.url(name)
        if served != plain:
            entries[plain] = served
    return entries


@register.simple_tag(takes_context=True)
def importmap(context: template.Context) -> str:
    page = context.template  # the template rendered (base.html is what it extends)
    if page is None or not USES_MODULES.search(getattr(page, "source", "")):
        return ""
    request = context.get("request")
    # django-csp's nonce is lazy (and false until read): str() makes it, and puts it in the header.
    nonce = str(request.csp_nonce) if hasattr(request, "csp_nonce") else ""
    body = json.dumps({"imports": imports()}, separators=(",", ":")).translate(_JSON_IN_SCRIPT)
    if nonce:
        return format_html('<script type="importmap" nonce="{}">{}</script>', nonce, mark_safe(body))  # noqa: S308
    return format_html('<script type="importmap">{}</script>', mark_safe(body))  # noqa: S308
