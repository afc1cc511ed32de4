"""Template filters: counts, percentages, labels, definition sentences with code spans, and
static URLs that change with their file's content."""

import hashlib
import re
from functools import lru_cache
from pathlib import Path

from django import template
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from liftlab import formatting

register = template.Library()
CODE_SPAN = re.compile(r"`([^`]*)`")

register.filter("thousands", formatting.thousands)
register.filter("percent", formatting.percent)
register.filter("label", formatting.label)


@register.filter
def code_spans(text: str) -> str:
    """Show the `backticked` names of a definition sentence as code, escaping everything else."""
    return mark_safe(CODE_SPAN.sub(r"<code>\1</code>", conditional_escape(text)))


@register.simple_tag
def hashed_static(path: str) -> str:
    """The static file's URL with a hash of its content (``liftlab.css?v=3f2a…``): a new
    stylesheet gets a new URL, so no browser keeps applying a stale copy after an upgrade."""
    return f"{static(path)}?v={_content_hash(path)}"


@lru_cache(maxsize=32)
def _content_hash(path: str) -> str:
    """Computed once per process: static files change only with a new release."""
    found = finders.find(path)
    if not found:
        raise template.TemplateSyntaxError(f"no static file {path!r}")
    return hashlib.sha256(Path(found).read_bytes()).hexdigest()[:12]
