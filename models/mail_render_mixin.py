from odoo import models


class MailRenderMixin(models.AbstractModel):
    _inherit = "mail.render.mixin"

    def _render_eval_context(self):
        """Templates of incident notices read the incident as ``incident``
        (an empty record elsewhere, so that such a template renders in the
        composer too); see customer.message ``_render_for_partners``."""
        render_context = super()._render_eval_context()
        render_context["incident"] = self.env["customer.incident"].browse(
            self.env.context.get("customer_messages_incident_id")
        )
        return render_context
