from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    customer_message_preference_ids = fields.One2many(
        "customer.message.preference",
        "partner_id",
        string="Message preferences",
        help="The categories of messages this contact turned off, per channel "
        "(set by the contact in the portal, or by staff).",
    )
