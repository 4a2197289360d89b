from odoo import api, fields, models
from odoo.tools import format_date

from ..tools import sms as sms_tools


class CustomerMessageComposer(models.TransientModel):
    """What the composer tells while composing and at the confirmation:
    the SMS counter (the text as the previewed customer gets it) and the
    documents each customer gets, in words."""

    _inherit = "customer.message.composer"

    sms_counter = fields.Char(
        string="SMS counter",
        compute="_compute_sms_counter",
        help="The SMS as the previewed customer gets it: placeholders replaced.",
    )
    documents_summary = fields.Char(
        string="Documents", compute="_compute_documents_summary"
    )

    @api.depends("channel", "sms_body", "subject", "preview_sms_body")
    def _compute_sms_counter(self):
        for composer in self:
            if composer.channel != "sms":
                composer.sms_counter = False
                continue
            rendered = composer.preview_sms_body
            text = rendered or composer.sms_body or composer.subject or ""
            encoding, length, count = sms_tools.segments(text)
            counter = self.env._(
                "%(length)s characters, %(count)s SMS (%(encoding)s)",
                length=length,
                count=count,
                encoding=encoding,
            )
            if rendered:
                name = composer.preview_partner_id.with_context(
                    customer_messages_search=False
                ).display_name
                counter = self.env._(
                    "%(counter)s, as sent to %(name)s", counter=counter, name=name
                )
            elif "{{" in text:
                # nobody to render it for (no recipient, or no subject yet)
                counter = self.env._(
                    "%(counter)s, placeholders counted as typed", counter=counter
                )
            composer.sms_counter = counter

    @api.depends(
        "channel",
        "mode",
        "invoice_policy",
        "proforma_policy",
        "payment_policy",
        "document_date_from",
        "document_date_to",
        "invoice_ids",
        "payment_ids",
    )
    def _compute_documents_summary(self):
        for composer in self:
            if composer.channel == "sms":
                composer.documents_summary = False
                continue
            parts = composer._get_document_rules_in_words()
            # sudo: the names of the documents the user picked
            picked = [
                *composer.sudo().invoice_ids.mapped("display_name"),
                *composer.sudo().payment_ids.mapped("display_name"),
            ]
            if picked and composer.mode == "single":
                parts.append(
                    self.env._("the picked %(names)s", names=", ".join(picked))
                )
            composer.documents_summary = (
                self.env._(
                    "Each customer gets %(documents)s, as a PDF.",
                    documents="; ".join(parts),
                )
                if parts
                else self.env._("No financial document is attached.")
            )

    def _get_document_rules_in_words(self):
        """The document rules of the composition, one phrase each."""
        self.ensure_one()
        dates = " - ".join(
            format_date(self.env, day) if day else "..."
            for day in (self.document_date_from, self.document_date_to)
        )
        words = {
            "invoice_policy": {
                "last": self.env._("their last invoice"),
                "last_unpaid": self.env._("their last unpaid invoice"),
                "unpaid": self.env._("all their unpaid invoices"),
                "range": self.env._("their invoices dated %(dates)s", dates=dates),
            },
            "proforma_policy": {
                "last": self.env._("their last pro-forma invoice"),
                "unpaid": self.env._("all their pro-forma invoices"),
                "range": self.env._(
                    "their pro-forma invoices dated %(dates)s", dates=dates
                ),
            },
            "payment_policy": {
                "last": self.env._("their last payment receipt"),
                "range": self.env._(
                    "their payment receipts dated %(dates)s", dates=dates
                ),
            },
        }
        return [
            words[fname][self[fname]] for fname in words if self[fname] in words[fname]
        ]
