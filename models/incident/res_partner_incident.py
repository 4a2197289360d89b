from odoo import fields, models
from odoo.exceptions import AccessError


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

    def _hook_prepare_create(self, vals_list):
        # called by res.partner.create (res_partner.py)
        vals_list = super()._hook_prepare_create(vals_list)
        if not self.env.su and any(
            vals.get("customer_incident_ids") for vals in vals_list
        ):
            self._raise_incident_audience_error()
        return vals_list

    def _hook_check_write(self, vals):
        # called by res.partner.write (res_partner.py)
        result = super()._hook_check_write(vals)
        if not self.env.su and "customer_incident_ids" in vals:
            self._raise_incident_audience_error()
        return result

    def _raise_incident_audience_error(self):
        """An incident's audience follows from its scope (see
        customer.incident ``_freeze_audience``), never from what is written."""
        raise AccessError(
            self.env._(
                "The customers notified of an incident follow from its scope: "
                "they cannot be written."
            )
        )
