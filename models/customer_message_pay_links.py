from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools.misc import format_date, formatLang

# the message whose pay links a template renders (see _get_render_context)
PAY_LINKS_CONTEXT_KEY = "customer_messages_pay_links_message_id"
UNPAID_STATES = ("not_paid", "partial")


class CustomerMessage(models.Model):
    """Pay links: billing and dunning messages carry, per unpaid invoice of
    the customer, a link to pay it in the portal (Odoo's invoice page,
    opened without login through the invoice's access token, with the
    payment providers configured in Odoo when Invoicing's online payment is
    installed). Templates place them with ``<t t-out="pay_links(object)"/>``
    (``_render_eval_context``); the composer's *Add pay links* and reminder
    rules append them to the body (``_hook_rendered``)."""

    _inherit = "customer.message"

    add_pay_links = fields.Boolean(
        string="Add pay links",
        readonly=True,
        help="Each customer's email and portal message end with a link to pay "
        "each of their unpaid invoices online.",
    )

    def _get_render_context(self):
        # a message being composed (new) renders the links of its company
        return {
            **super()._get_render_context(),
            PAY_LINKS_CONTEXT_KEY: self._origin.id or False,
        }

    def _render_eval_context(self):
        render_context = super()._render_eval_context()
        message = self.browse(self.env.context.get(PAY_LINKS_CONTEXT_KEY))
        render_context["pay_links"] = message._get_pay_links
        return render_context

    def _hook_rendered(self, partners, rendered):
        rendered = super()._hook_rendered(partners, rendered)
        if not self.add_pay_links:
            return rendered
        links = self._get_pay_links_by_partner(partners)
        for partner in partners:
            block = links.get(partner.id)
            if block and rendered[partner.id].get("body_html"):
                rendered[partner.id]["body_html"] = (
                    Markup(rendered[partner.id]["body_html"]) + block
                )
        return rendered

    def _get_unpaid_invoices(self, partners):
        """The unpaid posted invoices of the customers (their commercial
        partner's), in the message's company (the user's without a message),
        only the picked ones when the message has picked invoices; by due
        date. sudo: the customers' own invoices, read to link them, whoever
        renders the message (a Messages / User has no Invoicing rights)."""
        company = self[:1].company_id or self.env.company
        domain = (
            Domain("move_type", "=", "out_invoice")
            & Domain("state", "=", "posted")
            & Domain("payment_state", "in", UNPAID_STATES)
            & Domain("company_id", "=", company.id)
            & Domain("commercial_partner_id", "in", partners.commercial_partner_id.ids)
        )
        picked = self[:1].sudo().invoice_ids
        if picked:
            domain &= Domain("id", "in", picked.ids)
        return (
            self.env["account.move"].sudo().search(domain, order="invoice_date_due, id")
        )

    def _get_pay_links_by_partner(self, partners):
        """{partner id: the HTML block of its pay links} for the customers
        that have unpaid invoices, in one search for all of them."""
        invoices = self._get_unpaid_invoices(partners)
        by_company = invoices.grouped("commercial_partner_id")
        return {
            partner.id: self._render_pay_links(partner, by_company[commercial])
            for partner in partners
            if (commercial := partner.commercial_partner_id) in by_company
        }

    def _get_pay_links(self, partner):
        """The pay links of one customer (the templates' ``pay_links``)."""
        invoices = self._get_unpaid_invoices(partner)
        return self._render_pay_links(partner, invoices) if invoices else ""

    @api.model
    def _render_pay_links(self, partner, invoices):
        """The links of ``invoices`` (sudo) as HTML, in the customer's
        language; each invoice gets its access token (as Odoo's own invoice
        emails do)."""
        env = self.with_context(lang=partner.lang or self.env.lang).env
        items = Markup("").join(
            Markup('<li><a href="%s">%s</a></li>')
            % (
                invoice.get_base_url() + invoice.get_portal_url(),
                env._(
                    "Pay invoice %(name)s: %(amount)s, due on %(date)s",
                    name=invoice.name,
                    amount=formatLang(
                        env, invoice.amount_residual, currency_obj=invoice.currency_id
                    ),
                    date=format_date(env, invoice.invoice_date_due),
                ),
            )
            for invoice in invoices
        )
        return Markup(
            '<div class="o_customer_messages_pay_links"><p>%s</p><ul>%s</ul></div>'
        ) % (escape(env._("Pay online:")), items)
