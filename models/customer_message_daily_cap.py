from datetime import timedelta

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL

from .customer_message_exclusions import CAP_RULES

# The window of an idempotency key (customer_message_keys.py), and of the
# daily cap of automated sends
WINDOW = timedelta(hours=24)
DAILY_LIMIT = "customer_messages.daily_automated_limit"


class CustomerMessage(models.Model):
    """A guard of automated sending, for integrators' code and automation
    rules that may run often: a cap on the automated messages each customer
    gets in 24 hours, an exclusion rule added through the hook
    ``_hook_exclusion_rules`` (customer_message_exclusions.py). (Their
    idempotency keys: customer_message_keys.py.)"""

    _inherit = "customer.message"

    @api.model
    def _get_daily_limit(self):
        """Automated messages a customer gets in 24 hours at most (0: no
        limit); staff's own sends are never capped."""
        return int(self.env["ir.config_parameter"].sudo().get_param(DAILY_LIMIT, 10))

    @api.model
    def _hook_exclusion_rules(self, channel, partners, rules):
        rules = super()._hook_exclusion_rules(channel, partners, rules)
        if not self or self.origin != "automated" or self.test_email:
            return rules
        if self.env.context.get("customer_messages_recheck"):
            # the cap was applied when the lines were made: at delivery the
            # lines of messages made since would count against each other
            return rules
        limit = self._get_daily_limit()
        if limit > 0:
            rules.append(
                (
                    CAP_RULES,
                    self._get_daily_limit_domain(limit),
                    self.env._(
                        "already got %(count)s automated messages in 24 hours",
                        count=limit,
                    ),
                )
            )
        return rules

    def _get_daily_limit_domain(self, limit):
        """The customers who got ``limit`` automated messages in the last 24
        hours (lines not cancelled, of other messages)."""
        Recipient = self.env["customer.message.recipient"].sudo()
        Recipient.flush_model(["partner_id", "origin", "state", "message_id"])
        since = fields.Datetime.now() - WINDOW
        return Domain.custom(
            to_sql=lambda model, alias, query: SQL(
                "%s IN (SELECT partner_id FROM customer_message_recipient "
                "WHERE origin = 'automated' AND state != 'cancelled' "
                "AND create_date >= %s AND message_id != %s "
                "GROUP BY partner_id HAVING count(*) >= %s)",
                model._field_to_sql(alias, "id", query),
                since,
                self._origin.id or 0,
                limit,
            )
        )
