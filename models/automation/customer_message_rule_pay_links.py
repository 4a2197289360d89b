from odoo import fields, models


class CustomerMessageRule(models.Model):
    """Reminder rules on invoices may add the customer's pay links to their
    messages (customer_message_pay_links.py)."""

    _inherit = "customer.message.rule"

    add_pay_links = fields.Boolean(
        string="Add pay links",
        help="Each reminder's email and portal message end with a link to pay "
        "each of the customer's unpaid invoices online, in the customer portal, "
        "without logging in.",
    )

    def _prepare_message_values(self, step, documents):
        values = super()._prepare_message_values(step, documents)
        values["add_pay_links"] = self.add_pay_links and step.channel != "sms"
        return values
