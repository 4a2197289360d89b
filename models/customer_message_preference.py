from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .customer_message_category import PREFERENCE_CHANNELS


class CustomerMessagePreference(models.Model):
    """A customer's (or a company contact's) choice for one category of
    messages on one channel. No row: the customer receives them."""

    _name = "customer.message.preference"
    _description = "Customer Message Preference"
    _order = "partner_id, category_id, channel"
    _rec_name = "category_id"

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade"
    )
    category_id = fields.Many2one(
        "customer.message.category",
        required=True,
        index=True,
        ondelete="cascade",
    )
    channel = fields.Selection(selection=PREFERENCE_CHANNELS, required=True)
    opted_out = fields.Boolean(
        string="Opted out",
        default=True,
        help="The customer does not want messages of this category on this channel.",
    )

    _partner_category_channel_uniq = models.UniqueIndex(
        "(partner_id, category_id, channel)",
        "A customer has one choice per category and channel.",
    )

    @api.constrains("opted_out", "category_id")
    def _check_opt_out_allowed(self):
        locked = self.filtered(
            lambda p: p.opted_out and not p.category_id.allow_opt_out
        )
        if locked:
            raise ValidationError(
                self.env._(
                    "%(categories)s messages cannot be turned off.",
                    categories=", ".join(locked.category_id.mapped("name")),
                )
            )
