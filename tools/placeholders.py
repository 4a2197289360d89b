"""Placeholders typed in a message's text: ``{{ object.name }}`` works in the
subject (Odoo's inline templates) and, converted here, in the HTML body,
which Odoo renders with QWeb (``<t t-out="object.name"/>``, what Odoo's own
placeholder tool inserts). The converted body goes through the same checks:
a user who may not write code in templates gets only the allowed
placeholders."""

import html
import re

from markupsafe import Markup, escape

PLACEHOLDER = re.compile(r"\{\{\s*(.+?)\s*\}\}", re.DOTALL)
# a tag, comment or doctype, left as it is: only text between them is read
MARKUP = re.compile(r"(<[^>]*>)")


def _to_qweb(match):
    expression = html.unescape(match.group(1)).strip()
    return f'<t t-out="{escape(expression)}"/>'


def placeholders_to_qweb(body):
    """The HTML body with the ``{{ ... }}`` of its text as QWeb outputs."""
    if not body or "{{" not in body:
        return body
    parts = MARKUP.split(str(body))
    converted = "".join(
        part if part.startswith("<") else PLACEHOLDER.sub(_to_qweb, part)
        for part in parts
    )
    return Markup(converted)
