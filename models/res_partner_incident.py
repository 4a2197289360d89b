from odoo import fields, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    customer_incident_ids = fields.Many2many(
        "customer.incident",
        "customer_incident_audience_rel",
        "partner_id",
        "incident_id",
        string="Incidents notified",
        readonly=True,
        copy=False,
        groups="customer_messages.customer_messages_group_user",
        help="The outages and maintenance this customer was notified of.",
    )
