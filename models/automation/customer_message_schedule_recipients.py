import ast
import json

from odoo import api, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain

from ..customer_message_audience_filter import FILTER_FIELDS


class CustomerMessageSchedule(models.Model):
    """The recipients of a recurring message: the composer's filters
    (customer.message.audience.filter) and an advanced filter, resolved
    again at each run, and their description in words."""

    _inherit = "customer.message.schedule"

    # its filters: the mixin's, its resellers (no customers picked one by one)
    @api.depends(
        *(fname for fname in FILTER_FIELDS if fname != "partner_ids"),
        "recipient_domain",
    )
    def _compute_recipient_filter(self):
        label = self._fields["recipient_domain"].get_description(self.env)["string"]
        for schedule in self:
            parts = schedule._describe_filters()
            if schedule.recipient_domain and schedule.recipient_domain != "[]":
                parts.append(f"{label}: {schedule.recipient_domain}")
            schedule.recipient_filter = "; ".join(parts) or self.env._("All customers")

    @api.constrains("recipient_domain")
    def _check_recipient_domain(self):
        for schedule in self:
            schedule._get_recipient_domain()

    def _get_recipient_domain(self):
        """The advanced filter's domain, checked against the customers'
        fields (the filters' own: ``_get_filter_domain``)."""
        self.ensure_one()
        try:
            domain = Domain(ast.literal_eval(self.recipient_domain or "[]"))
            domain.validate(self.env["res.partner"])
        except (ValueError, TypeError, KeyError, SyntaxError) as error:
            raise ValidationError(
                self.env._(
                    "The recipients of %(name)s are not a valid filter on "
                    "customers: %(error)s",
                    name=self.name,
                    error=error,
                )
            ) from error
        return domain

    def _get_recipients(self):
        """The customers matching the filter now, as the schedule's user
        finds them in its company (as the composer does)."""
        self.ensure_one()
        Partner = self.env["res.partner"].with_company(self.company_id)
        if self.user_id:
            Partner = Partner.with_user(self.user_id).with_context(
                allowed_company_ids=self.company_id.ids
            )
        domain = (
            self._get_filter_domain()
            & self._get_recipient_domain()
            & Domain("company_id", "in", [False, self.company_id.id])
        )
        partners = Partner.search(domain, order="id")
        return partners.with_env(self.env)

    @api.model
    def _domain_to_text(self, domain):
        """A domain as the text kept on the schedule (dates as strings)."""
        return repr(json.loads(json.dumps(list(Domain(domain)), default=str)))
