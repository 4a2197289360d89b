from odoo import fields, models
from odoo.fields import Domain


class CustomerMessageComposer(models.TransientModel):
    """*Repeat...*: a recurring message made from the composition."""

    _inherit = "customer.message.composer"

    def _prepare_schedule_values(self):
        """The recurring message this composition makes: the same content,
        document rules and customer filters, resolved again at each run."""
        self.ensure_one()
        values = self._prepare_message_values()
        filters = {}
        extra = Domain.TRUE
        if self.mode == "single":
            extra = Domain("id", "=", self.partner_id.id)
        else:
            filters = self._get_filter_values()
            filters.pop("partner_ids", None)
            if self.partner_ids:
                extra = Domain("id", "in", self.partner_ids.ids)
        if self.advanced_domain and self.advanced_domain != "[]":
            extra &= self._get_advanced_domain()
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
            # the same filters, resolved again at each run; the customers
            # picked one by one and the advanced filter as its domain
            **filters,
            "recipient_domain": "[]"
            if extra.is_true()
            else self.env["customer.message.schedule"]._domain_to_text(extra),
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
