from odoo import api, fields, models

from .customer_incident_notice import NOTICE_CHANNELS, SERVICE_CATEGORY


class CustomerIncident(models.Model):
    """How long a notice of the incident takes to reach its customers at
    the sending limits (customer.message ``_estimate_sending_time``), shown
    before Send notice and after."""

    _inherit = "customer.incident"

    notice_eta = fields.Char(string="Time to notify", compute="_compute_notice_eta")
    notice_eta_warning = fields.Char(compute="_compute_notice_eta")

    @api.depends(
        "location_ids",
        "tariff_ids",
        "service_internet",
        "service_voice",
        "service_custom",
        "company_id",
        "notice_date",
        "state",
    )
    def _compute_notice_eta(self):
        category = self.env.ref(SERVICE_CATEGORY, raise_if_not_found=False)
        for incident in self:
            incident.notice_eta = incident.notice_eta_warning = False
            if incident.state == "resolved" or not incident.company_id:
                continue
            estimate = incident._estimate_notice_time(category)
            incident.notice_eta = estimate["text"]
            incident.notice_eta_warning = estimate["warning"]

    def _estimate_notice_time(self, category=None):
        """The estimate of one notice (its channels, its category) to the
        customers of the first notice, or before it to those affected now."""
        self.ensure_one()
        Partner = self.env["res.partner"]
        partners = (
            Partner._search([("customer_incident_ids", "in", self.ids)])
            if self.notice_date
            else Partner._search(self._get_affected_domain())
        )
        return (
            self.env["customer.message"]
            .with_company(self.company_id)
            .with_context(customer_messages_category_id=category and category.id)
            ._estimate_sending_time(
                partners, NOTICE_CHANNELS, category=category, company=self.company_id
            )
        )
