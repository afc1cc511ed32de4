"""Template filters: counts, percentages, labels, and definition sentences with code spans."""

import re

from django import template
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
