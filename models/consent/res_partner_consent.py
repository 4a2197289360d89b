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
    customer_message_consent_log_ids = fields.One2many(
        "customer.message.consent.log",
        "partner_id",
        string="Consent log",
        readonly=True,
        groups="customer_messages.customer_messages_group_user",
        help="Every change of what this contact agrees to receive: who, when, "
        "how and what.",
    )
