import json

from odoo import api, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools.safe_eval import safe_eval

from ..models.customer_message_audience_filter import (
    FILTER_FIELDS as AUDIENCE_FILTER_FIELDS,
)

# the filters of the mass mode (see customer_message_audience_filter.py),
# the advanced one beside them
FILTER_FIELDS = (*AUDIENCE_FILTER_FIELDS, "advanced_domain")
EXCLUSIONS_SHOWN = 20


class CustomerMessageComposer(models.TransientModel):
    """The composer's recipients: the domain its filters make, their
    description for the history, the count and the exclusions."""

    _inherit = "customer.message.composer"

    def _get_recipient_domain(self):
        """The customers the choices select, as a domain on res.partner."""
        self.ensure_one()
        if self.mode == "single":
            return Domain("id", "=", self.partner_id.id)
        domain = self._get_filter_domain()
        if self.advanced_domain and self.advanced_domain != "[]":
            domain &= self._get_advanced_domain()
        return domain

    def _get_advanced_domain(self):
        """The advanced filter, checked against the customers' fields."""
        try:
            domain = Domain(safe_eval(self.advanced_domain))
            domain.validate(self.env["res.partner"])
        except (ValueError, TypeError, SyntaxError, NameError, KeyError) as error:
            raise UserError(
                self.env._(
                    "The advanced filter is not a valid filter on customers: %(error)s",
                    error=error,
                )
            ) from error
        return domain

    def _get_recipients(self):
        self.ensure_one()
        if self.mode == "single" and not self.partner_id:
            return self.env["res.partner"]
        return self.env["res.partner"].search(self._get_recipient_domain(), order="id")

    def _get_recipient_query(self):
        """The customers the choices select, as a query (never run alone:
        the counts and exclusions are computed on it in SQL)."""
        self.ensure_one()
        Partner = self.env["res.partner"]
        if self.mode == "single" and not self.partner_id:
            return Partner.browse()._as_query()
        return Partner._search(self._get_recipient_domain())

    def _describe_filter(self):
        """The recipients filter in words, kept in the history."""
        self.ensure_one()
        if self.mode == "single":
            return self.env._(
                "Customer ID %(id)s (%(name)s)",
                id=self.partner_id.id,
                name=self.partner_id.with_context(
                    customer_messages_search=False
                ).display_name,
            )

        parts = self._describe_filters()
        label = self._fields["advanced_domain"].get_description(self.env)["string"]
        if self.advanced_domain and self.advanced_domain != "[]":
            parts.append(f"{label}: {self.advanced_domain}")
        return "; ".join(parts) or self.env._("All customers")

    def _get_message_model(self):
        """customer.message, for the exclusions of this composition's
        category (see customer.message._get_exclusion_category)."""
        self.ensure_one()
        return self.env["customer.message"].with_context(
            customer_messages_category_id=self.category_id.id
        )

    @api.depends("mode", "partner_id", *FILTER_FIELDS, "channel", "category_id")
    def _compute_recipients(self):
        """The counts, the first recipient and the first EXCLUSIONS_SHOWN
        excluded customers with their reasons, in SQL: a few queries per
        change whatever the number of customers."""
        for composer in self:
            Message = composer._get_message_model()
            composer.recipient_error = False
            try:
                partners = composer._get_recipient_query()
            except UserError as error:
                partners = self.env["res.partner"]
                composer.recipient_error = str(error)
            summary = Message._summarize_recipients(
                partners, channel=composer.channel, limit=EXCLUSIONS_SHOWN
            )
            composer.recipient_count = summary["count"]
            composer.excluded_count = summary["excluded_count"]
            composer.first_recipient_id = summary["first"]
            composer.exclusion_summary = composer._render_list(
                [
                    self.env._(
                        "%(name)s (ID %(id)s): %(reason)s",
                        # the name alone: the pickers' context adds the ID
                        name=partner.with_context(
                            customer_messages_search=False
                        ).display_name,
                        id=partner.id,
                        reason=reason,
                    )
                    for partner, reason in summary["excluded"]
                ],
                more=summary["excluded_count"] - len(summary["excluded"]),
            )

    @api.depends("mode", "partner_id", *FILTER_FIELDS, "channel", "category_id")
    def _compute_preview_partner_filter(self):
        # the recipients' domain and channel, for the "Preview as" picker
        # (see res.partner._search_customer_message_sendable)
        for composer in self:
            try:
                domain = list(composer._get_recipient_domain())
            except UserError:
                domain = list(Domain.FALSE)
            composer.preview_partner_filter = json.dumps(
                {
                    "domain": domain,
                    "channel": composer.channel,
                    "category_id": composer.category_id.id,
                },
                default=str,
            )

    def _render_list(self, items, more=0):
        """Items as an HTML list (see the template), or False for none."""
        if not items:
            return False
        return self.env["ir.qweb"]._render(
            "customer_messages.customer_message_composer_list",
            {"items": items, "more": more > 0 and more},
        )

    def _get_sendable_recipient(self, index):
        """The recipient at this position (in the order of ids) among those
        who can receive the message."""
        self.ensure_one()
        return self._get_message_model()._get_sendable_partners(
            self._get_recipient_query(), channel=self.channel, offset=index, limit=1
        )

    def action_view_recipients(self):
        """The recipients: the customers the choices select who can receive
        the message on its channel. The composer's form opens them
        in a dialog above the composition (see customer_message_composer_form
        in static/src), which stays as it was."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_messages.res_partner_action_customers"
        )
        action.update(
            # those counted: the customers of the filters who receive it
            domain=[("customer_message_sendable", "=", self.preview_partner_filter)],
            name=self.env._("Recipients"),
            target="new",
            context={"create": False, "customer_messages_search": True},
        )
        return action
