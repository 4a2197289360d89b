from odoo import models

from .customer_message_incident import INCIDENT_CONTEXT_KEY


class MailTemplate(models.Model):
    _inherit = "mail.template"

    def _render_eval_context(self):
        """Templates of incident notices read the incident as ``incident``:
        the notice's (see customer.message ``_get_render_context``), or an
        empty record where the template is rendered outside a notice (Odoo's
        check when it is saved, its preview, the composer). Only templates
        that name it get it: Odoo's other renderings are left as they are."""
        render_context = super()._render_eval_context()
        if INCIDENT_CONTEXT_KEY in self.env.context or any(
            "incident" in (template[fname] or "")
            for template in self
            for fname in ("subject", "body_html", "customer_message_sms_body")
        ):
            render_context["incident"] = self.env["customer.incident"].browse(
                self.env.context.get(INCIDENT_CONTEXT_KEY)
            )
        return render_context
