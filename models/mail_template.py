from odoo import api, models
from odoo.exceptions import ValidationError


class MailTemplate(models.Model):
    _inherit = "mail.template"

    @api.constrains("model_id")
    def _check_customer_message_model(self):
        # sudo: whoever edits the template, the messages to send and the
        # actions using it must keep rendering it on customers
        messages = self.env["customer.message"].sudo()
        actions = self.env["ir.actions.server"].sudo()
        if messages.search_count(
            [("template_id", "in", self.ids), ("state", "in", ("new", "processing"))],
            limit=1,
        ) or actions.search_count(
            [("customer_message_template_id", "in", self.ids)], limit=1
        ):
            self._check_customer_message_template()

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
