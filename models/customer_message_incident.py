from odoo import fields, models


class CustomerMessage(models.Model):
    """The notices of outages and maintenance (customer.incident): each
    message knows its incident, which its templates render as ``incident``
    (see mail.render.mixin ``_render_eval_context``)."""

    _inherit = "customer.message"

    incident_id = fields.Many2one(
        "customer.incident",
        ondelete="set null",
        index="btree_not_null",
        help="The outage or maintenance this message is a notice of.",
    )
    incident_notice = fields.Selection(
        selection=[
            ("notice", "Notice"),
            ("update", "Update"),
            ("resolved", "Resolved"),
        ],
        string="Incident notice",
    )

    def _render_for_partners(self, partners):
        message = self
        if self.incident_id:
            message = self.with_context(
                customer_messages_incident_id=self.incident_id.id
            )
        return super(CustomerMessage, message)._render_for_partners(partners)
