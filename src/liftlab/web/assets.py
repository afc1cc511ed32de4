"""The pages' own static files (the stylesheet), compressed and cached for good.

Each file is read, hashed and gzipped once per process, and served under its content's hash
(``/assets/3f2a…/liftlab.css``): a browser may keep it for a year, since a changed file gets a
new URL. An address with another hash (a page cached before an upgrade) is redirected to the
current one. Only the files named in ``ASSETS`` are served.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_safe

# URL name → the static file it serves, and its type.
ASSETS = {"liftlab.css": ("web/liftlab.css", "text/css; charset=utf-8")}
ONE_YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class Asset:
    raw: bytes
    packed: bytes  # gzip, level 9: computed once
    digest: str
    content_type: str


@lru_cache(maxsize=len(ASSETS))
def asset(name: str) -> Asset:
    """The file named ``name`` in ``ASSETS``, with its gzip and the hash its URL carries."""
    path, content_type = ASSETS[name]
    found = finders.find(path)
    if not found:
        raise LookupError(f"no static file {path!r}")
    raw = Path(found).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()[:12]
    return Asset(raw, gzip.compress(raw, compresslevel=9, mtime=0), digest, content_type)


def asset_url(name: str) -> str:
    return reverse("web:asset", kwargs={"digest": asset(name).digest, "name": name})


@require_safe
def serve(request: HttpRequest, digest: str, name: str) -> HttpResponse:
    if name not in ASSETS:
        raise Http404("No such file.")
    current = asset(name)
    if digest != current.digest:
        return HttpResponseRedirect(asset_url(name))
    packed = "gzip" in request.headers.get("Accept-Encoding", "")
    response = HttpResponse(
        current.packed if packed else current.raw, content_type=current.content_type
    )
    if packed:
        response["Content-Encoding"] = "gzip"
    response["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    patch_vary_headers(response, ["Accept-Encoding"])
    return response
