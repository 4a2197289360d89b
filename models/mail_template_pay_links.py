from odoo import models

from .customer_message_pay_links import PAY_LINKS_CONTEXT_KEY


class MailTemplate(models.Model):
    _inherit = "mail.template"

    def _render_eval_context(self):
        """Templates of customer messages place the customer's pay links
        with ``<t t-out="pay_links(object)"/>``: those of the message
        rendered (see customer.message ``_get_render_context``), or of the
        user's company where the template is rendered outside a message
        (its preview, Odoo's check when it is saved)."""
        render_context = super()._render_eval_context()
        message = self.env["customer.message"].browse(
            self.env.context.get(PAY_LINKS_CONTEXT_KEY)
        )
        render_context["pay_links"] = message._get_pay_links
        return render_context
