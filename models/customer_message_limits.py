from datetime import timedelta

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL

# The window of an idempotency key, and of the daily cap of automated sends
WINDOW = timedelta(hours=24)
DAILY_LIMIT = "customer_messages.daily_automated_limit"


class CustomerMessage(models.Model):
    """Guards of automated sending, for integrators' code and automation
    rules that may run twice: an idempotency key (the same key within 24
    hours sends nothing again, see ``_send_to_customers``), and a cap on the
    automated messages each customer gets in 24 hours."""

    _inherit = "customer.message"

    idempotency_key = fields.Char(
        copy=False,
        readonly=True,
        help="The key the code that sent it gave: the same key within 24 hours "
        "returns this message and sends nothing again.",
    )

    # one message per live key; a key older than the window is released
    # (_get_message_by_key) before it is given again
    _idempotency_key_uniq = models.UniqueIndex(
        "(idempotency_key) WHERE idempotency_key IS NOT NULL",
        "A message with this idempotency key is being sent already.",
    )

    @api.model
    def _get_message_by_key(self, key):
        """The message sent with the key within the window, or an empty
        recordset; an older one gives the key up."""
        # sudo: the key is the caller's; whoever gave it gets the message
        found = self.sudo().search([("idempotency_key", "=", key)], limit=1)
        if found and found.create_date < fields.Datetime.now() - WINDOW:
            found.idempotency_key = False
            found.flush_recordset(["idempotency_key"])
            found = self.browse()
        return found.with_env(self.env)

    @api.model
    def _get_daily_limit(self):
        """Automated messages a customer gets in 24 hours at most (0: no
        limit); staff's own sends are never capped."""
        return int(self.env["ir.config_parameter"].sudo().get_param(DAILY_LIMIT, 10))

    @api.model
    def _get_exclusion_rules(self, channel, partners):
        rules = super()._get_exclusion_rules(channel, partners)
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
