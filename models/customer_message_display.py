import logging
import re

from odoo import api, fields, models
from odoo.tools.rendering_tools import parse_inline_template
from odoo.tools.safe_eval import safe_eval

_logger = logging.getLogger(__name__)

# a placeholder of the customer: object, or a path of its fields
CUSTOMER_PATH = re.compile(r"^object(\.\w+)*$")
# fields whose label is the record's own ("[Customer]", not "[Customer: Name]")
NAME_FIELDS = ("name", "display_name", "complete_name")


class CustomerMessage(models.Model):
    """How staff read a message's subject in lists and titles.

    The subject is rendered for each customer when the message is sent
    (each line keeps its own, "Subject as sent"). Where staff read the
    message itself (the History list and title, the incident's Notices,
    a recurring message's runs and name, every link to a message), its
    placeholders follow one rule, ``_get_readable_text``: those of the
    customer become a label in brackets naming the field ([Customer],
    [Customer: Email]); the others, the same for every customer (the
    incident of a notice), are rendered; what cannot be rendered shows
    as [...]. Never a raw ``{{ }}``.

    Its *Sent on* is when its first customer got it (``first_sent_date``),
    not when it was confirmed (``date``: a message approved or scheduled
    later is sent after it)."""

    _inherit = "customer.message"

    first_sent_date = fields.Datetime(
        string="Sent on",
        compute="_compute_first_sent_date",
        help="When it was sent to its first customer: after its date for a "
        "message approved or scheduled later; empty while nobody got it.",
    )
    display_subject = fields.Char(
        string="Subject shown",
        compute="_compute_display_subject",
        help="The subject with the customer's placeholders shown as labels in "
        "brackets ([Customer]); each customer's own is on their line.",
    )

    def _compute_first_sent_date(self):
        ids = [message_id for message_id in self._ids if isinstance(message_id, int)]
        first = {}
        if ids:
            first = dict(
                self.env["customer.message.recipient"]._read_group(
                    [("message_id", "in", ids), ("sent_date", "!=", False)],
                    ["message_id"],
                    ["sent_date:min"],
                )
            )
        for message in self:
            message.first_sent_date = first.get(message._origin, False)

    @api.depends("subject")
    @api.depends_context("lang")
    def _compute_display_subject(self):
        for message in self:
            message.display_subject = message._get_readable_text(
                message.subject,
                context_keys=message._get_render_context() if message.id else None,
            )

    @api.depends("subject")
    @api.depends_context("lang")
    def _compute_display_name(self):
        for message in self:
            message.display_name = message.display_subject

    @api.model
    def _get_readable_text(self, text, context_keys=None):
        """The text of an inline template as staff read it in lists and
        titles (the one display rule of the module, see the class).

        :param str text: a subject, or any text with ``{{ }}`` placeholders
        :param dict context_keys: the context the message renders with
            (``_get_render_context``): its placeholders other than the
            customer's are rendered with it; without it they show as [...]
        """
        if not text or "{{" not in text:
            return text or ""
        variables = None
        if context_keys is not None:
            # the same evaluation context as each customer's rendering, the
            # customer left empty (the expressions were checked when written:
            # _has_unsafe_expression)
            variables = self.with_context(**context_keys)._render_eval_context()
            variables["object"] = self.env["res.partner"]
        parts = []
        for string, expression, _default in parse_inline_template(text):
            parts.append(string)
            if expression:
                parts.append(self._get_readable_expression(expression, variables))
        return "".join(parts)

    @api.model
    def _get_readable_expression(self, expression, variables):
        expression = expression.strip()
        if CUSTOMER_PATH.match(expression):
            return self._get_customer_label(expression.split(".")[1:])
        if variables is None or re.search(r"\bobject\b", expression):
            return "[...]"
        try:
            value = safe_eval(expression, dict(variables))
        except Exception:  # noqa: BLE001 - any failure shows the neutral mark
            _logger.debug("Not readable: %s", expression, exc_info=True)
            return "[...]"
        return "" if value is None or value is False else str(value)

    @api.model
    def _get_customer_label(self, path):
        """[Customer] for the customer's name, [Customer: Email] for a field,
        [Customer: Location / City] for a field of a field."""
        customer = self.env._("Customer")
        if path and path[-1] in NAME_FIELDS:
            path = path[:-1]
        labels = []
        model = self.env["res.partner"]
        for fname in path:
            field = model._fields.get(fname)
            if field is None:
                labels.append(fname)
                break
            labels.append(field._description_string(self.env))
            if not field.relational:
                break
            model = self.env[field.comodel_name]
        if not labels:
            return f"[{customer}]"
        return f"[{customer}: {' / '.join(labels)}]"
