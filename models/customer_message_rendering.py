from odoo import models

from .customer_message import RENDERED_FIELDS


class CustomerMessage(models.Model):
    """Rendering per customer: the message's (or its template's) subject,
    body and SMS text, in each customer's language, with Odoo's template
    engine, for the preview and the lines (customer_message_sending.py)."""

    _inherit = "customer.message"

    def _render_for_partners(self, partners):
        """{partner id: {"subject", "body_html", "sms_body"}} rendered per
        customer in the customer's language with Odoo's template engine.

        A field holding its template's own value is rendered from the
        template (with its translations); the others from the message. What
        a user renders is checked first as they may not have written it (the
        preview renders content never saved); the system renders content
        checked when it was written.
        """
        self.ensure_one()
        # the packages' context keys (see _get_render_context)
        message = self.with_context(**self._get_render_context())
        message._check_access_right_dynamic_template()
        message.template_id._check_customer_message_template()
        res_ids = partners.ids
        rendered = {partner_id: {} for partner_id in res_ids}
        # the engine reads each customer's language record by record
        partners.fetch(["lang"])
        langs = message._render_lang(res_ids)
        for fname in ("subject", "body_html", "sms_body"):
            source, source_fname = message, fname
            if message._holds_template_value(fname):
                source, source_fname = message.template_id, RENDERED_FIELDS[fname]
            if source[source_fname]:
                values = source._render_field(source_fname, res_ids, res_ids_lang=langs)
            else:
                values = dict.fromkeys(res_ids, "")
            for partner_id in res_ids:
                rendered[partner_id][fname] = values[partner_id]
        return message._hook_rendered(partners, rendered)

    def _hook_rendered(self, partners, rendered):
        """Hook: what ``_render_for_partners`` rendered, before it is used
        (the preview, the lines' content), for the packages that add to it
        (the pay links: customer_message_pay_links.py). Override it, call
        ``super()``, change the dict it returns ({partner id: {"subject",
        "body_html", "sms_body"}}) and return it."""
        self.ensure_one()
        return rendered

    def _get_render_context(self):
        """Hook: the context keys ``_render_for_partners`` renders this
        message with, for the packages that give its templates more to
        read (the incident of a notice: customer_message_incident.py).
        Override it, call ``super()`` and add keys to the dict it returns."""
        self.ensure_one()
        return {}
