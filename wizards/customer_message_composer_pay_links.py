from odoo import fields, models

from ..models.customer_message import EMAIL_CHANNELS, PORTAL_CHANNELS


class CustomerMessageComposer(models.TransientModel):
    """The composer's *Add pay links* (customer_message_pay_links.py)."""

    _inherit = "customer.message.composer"

    add_pay_links = fields.Boolean(
        string="Add pay links",
        help="Each customer's email and portal message end with a link to pay "
        "each of their unpaid invoices online, in the customer portal, without "
        "logging in.",
    )

    def _prepare_message_values(self):
        values = super()._prepare_message_values()
        values["add_pay_links"] = self.add_pay_links and self.channel in (
            *EMAIL_CHANNELS,
            *PORTAL_CHANNELS,
        )
        return values
