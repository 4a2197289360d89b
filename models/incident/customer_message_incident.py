from odoo import fields, models

# the incident whose notice is rendered (see _render_eval_context)
INCIDENT_CONTEXT_KEY = "customer_messages_incident_id"


class CustomerMessage(models.Model):
    """The notices of outages and maintenance (customer.incident): each
    message knows its incident, which its templates render as ``incident``
    (``_render_eval_context`` here, and mail.template's)."""

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

    def _render_eval_context(self):
        render_context = super()._render_eval_context()
        render_context["incident"] = self.env["customer.incident"].browse(
            self.env.context.get(INCIDENT_CONTEXT_KEY)
        )
        return render_context

    def _get_render_context(self):
        # what is rendered from the template reads this message's incident,
        # or an empty record (mail.template's _render_eval_context)
        return {
            **super()._get_render_context(),
            INCIDENT_CONTEXT_KEY: self.incident_id.id,
        }

    def _is_direct_send(self):
        # a notice is set up on its incident beforehand: approval follows
        # who configured the incident (configured_uid)
        return super()._is_direct_send() and not self.incident_id
