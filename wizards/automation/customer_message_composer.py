from odoo import fields, models


class CustomerMessageComposer(models.TransientModel):
    """*Repeat...*: a recurring message made from the composition."""

    _inherit = "customer.message.composer"

    def _prepare_schedule_values(self):
        """The recurring message this composition makes: the same content and
        document rules, the recipients' filter kept as a domain each run
        resolves again."""
        self.ensure_one()
        values = self._prepare_message_values()
        return {
            "name": self.subject,
            "subject": values["subject"],
            "body_html": values["body_html"],
            "sms_body": values["sms_body"],
            "channel": values["channel"],
            "template_id": values["template_id"],
            "attachment_ids": values["attachment_ids"],
            "invoice_policy": values["invoice_policy"],
            "proforma_policy": values["proforma_policy"],
            "payment_policy": values["payment_policy"],
            "document_date_from": fields.Date.to_string(values["document_date_from"]),
            "document_date_to": fields.Date.to_string(values["document_date_to"]),
            "recipient_filter": values["recipient_filter"],
            "recipient_domain": self.env["customer.message.schedule"]._domain_to_text(
                self._get_recipient_domain()
            ),
        }

    def action_repeat(self):
        """Open a new recurring message prefilled with this composition."""
        self._check_ready()
        values = self._prepare_schedule_values()
        return {
            "type": "ir.actions.act_window",
            "res_model": "customer.message.schedule",
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
            "name": self.env._("Recurring message"),
            "context": {f"default_{fname}": value for fname, value in values.items()},
        }
