from odoo import api, fields, models
from odoo.exceptions import UserError

from .customer_message_composer_recipients import FILTER_FIELDS


class CustomerMessageComposer(models.TransientModel):
    """The time the send takes at the sending limits, in the confirmation
    (customer.message ``_estimate_sending_time``)."""

    _inherit = "customer.message.composer"

    eta_text = fields.Char(string="Sending time", compute="_compute_eta")
    eta_warning = fields.Char(compute="_compute_eta")

    @api.depends("step", "mode", "partner_id", *FILTER_FIELDS, "channel", "category_id")
    def _compute_eta(self):
        for composer in self:
            composer.eta_text = composer.eta_warning = False
            if composer.step != "confirm" or composer.channel == "portal":
                # counted for the confirmation only: one query less per change
                continue
            try:
                partners = composer._get_recipient_query()
            except UserError:
                continue
            estimate = composer._get_message_model()._estimate_sending_time(
                partners, [composer.channel], category=composer.category_id
            )
            composer.eta_text = estimate["text"]
            composer.eta_warning = estimate["warning"]
