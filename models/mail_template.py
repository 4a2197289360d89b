import hashlib
import json

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from .customer_message import CHANNELS
from .customer_message_document_mixin import INVOICE_POLICIES, PAYMENT_POLICIES


class MailTemplate(models.Model):
    _inherit = "mail.template"

    # What a template on customers brings to a customer message beside its
    # subject and body: a "new invoice" template attaches the invoice.
    customer_message_channel = fields.Selection(
        selection=CHANNELS,
        string="Send to",
        help="Customer messages: the channel this template is sent by (empty: "
        "the one chosen in the composer).",
    )
    customer_message_category_id = fields.Many2one(
        "customer.message.category",
        string="Message category",
        ondelete="restrict",
        help="Customer messages: what the messages of this template are about "
        "(customers may turn some categories off).",
    )
    customer_message_sms_body = fields.Text(
        string="SMS text", help="Customer messages: the text of the SMS."
    )
    customer_message_invoice_policy = fields.Selection(
        selection=INVOICE_POLICIES, string="Invoices", default="none"
    )
    customer_message_proforma_policy = fields.Selection(
        selection=INVOICE_POLICIES, string="Pro-forma invoices", default="none"
    )
    customer_message_payment_policy = fields.Selection(
        selection=PAYMENT_POLICIES, string="Payment receipts", default="none"
    )

    def _get_customer_message_settings(self):
        """The composer's values this template sets."""
        self.ensure_one()
        values = {
            "invoice_policy": self.customer_message_invoice_policy or "none",
            "proforma_policy": self.customer_message_proforma_policy or "none",
            "payment_policy": self.customer_message_payment_policy or "none",
            "sms_body": self.customer_message_sms_body or False,
        }
        if self.customer_message_channel:
            values["channel"] = self.customer_message_channel
        return values

    def _get_customer_message_versions(self):
        """{template id: (version, last changed on)}: the version is a hash
        of what a customer message takes from the template (subject, body
        and SMS text in every language, language), so that the history says
        which version a message was sent with, and whether it changed since.
        """
        if not self:
            return {}
        self.flush_recordset(
            ["subject", "body_html", "customer_message_sms_body", "lang"]
        )
        # sql: the translated fields as stored, every language at once (the
        # ORM reads one language at a time)
        rows = self.env.execute_query(
            SQL(
                "SELECT id, write_date, subject::text, body_html::text, "
                "customer_message_sms_body, lang FROM %s WHERE id IN %s",
                SQL.identifier(self._table),
                tuple(self.ids),
            )
        )
        return {
            template_id: (
                hashlib.sha256(json.dumps(content).encode()).hexdigest()[:12],
                write_date,
            )
            for template_id, write_date, *content in rows
        }

    @api.constrains("model_id")
    def _check_customer_message_model(self):
        if self._is_used_by_customer_messages():
            self._check_customer_message_template()

    def _is_used_by_customer_messages(self):
        """Extension point: whether customer messages render these templates
        (messages still to send here; the automation package adds its
        server actions)."""
        # sudo: whoever edits the template, the messages to send must keep
        # rendering it on customers
        return bool(
            self.env["customer.message"]
            .sudo()
            .search_count(
                [
                    ("template_id", "in", self.ids),
                    ("state", "in", ("new", "processing")),
                ],
                limit=1,
            )
        )

    def _check_customer_message_template(self):
        """Customer messages render their templates on customers: a template
        of another model would render the record of that model whose id is
        the customer's (another customer's invoice...)."""
        wrong = self.filtered(lambda template: template.model != "res.partner")
        if wrong:
            raise ValidationError(
                self.env._(
                    "Customer messages use templates of contacts (res.partner) "
                    "only; %(templates)s is a template of another model.",
                    templates=", ".join(wrong.mapped("name")),
                )
            )
