from odoo import models


class MailTemplate(models.Model):
    _inherit = "mail.template"

    def _is_used_by_customer_messages(self):
        # sudo: whoever edits the template, the server actions sending it
        # must keep rendering it on customers
        return super()._is_used_by_customer_messages() or bool(
            self.env["ir.actions.server"]
            .sudo()
            .search_count([("customer_message_template_id", "in", self.ids)], limit=1)
        )
