"""Template filters: counts, percentages, labels, definition sentences with code spans, and
static URLs that change with their file's content."""

import re

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

from liftlab import formatting
from liftlab.web import assets

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
def asset_url(name: str) -> str:
    """The URL of one of the pages' own files (``liftlab.web.assets``): it carries a hash of
    the content, so a new stylesheet gets a new URL and the old one may be cached for good."""
    try:
        return assets.asset_url(name)
    except LookupError as exc:
        raise template.TemplateSyntaxError(str(exc)) from exc
