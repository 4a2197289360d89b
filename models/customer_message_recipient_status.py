from odoo import api, fields, models
from odoo.fields import Domain

from .customer_message_recipient import RECIPIENT_STATES

# the status staff read: the line's state, a line waiting for an automatic
# retry (or for a sending limit) told apart from one being processed
DELIVERY_STATUSES = [*RECIPIENT_STATES, ("deferred", "Deferred")]


class CustomerMessageRecipient(models.Model):
    """How staff read a line: *Deferred* with the server's last answer while
    its email or SMS waits for an automatic retry (a temporary answer, a
    sending limit), rather than *Processing* with an empty reason.

    The stored ``state`` stays *Processing* for such a line (it is pending:
    the counts, Cancel and the crons treat it so); ``delivery_status`` and
    ``status_reason`` are what the lists and the form show."""

    _inherit = "customer.message.recipient"

    delivery_status = fields.Selection(
        selection=DELIVERY_STATUSES,
        string="Status",
        compute="_compute_delivery_status",
        search="_search_delivery_status",
        help="Deferred: the server answered that it cannot take it now; it is "
        "tried again by itself at the next try.",
    )
    status_reason = fields.Text(
        string="Reason",
        compute="_compute_delivery_status",
        help="Why it failed or was cancelled; for a deferred one, the server's "
        "last answer.",
    )

    @api.depends("state", "next_try_date", "failure_reason", "last_answer")
    def _compute_delivery_status(self):
        for line in self:
            if line._is_deferred():
                line.delivery_status = "deferred"
                line.status_reason = line.last_answer
            else:
                line.delivery_status = line.state
                line.status_reason = line.failure_reason

    def _is_deferred(self):
        self.ensure_one()
        return self.state == "processing" and bool(self.next_try_date)

    @api.model
    def _get_deferred_domain(self):
        return Domain("state", "=", "processing") & Domain("next_try_date", "!=", False)

    def _search_delivery_status(self, operator, value):
        if operator not in ("in", "not in"):
            return NotImplemented
        statuses = set(value)
        domains = [Domain("state", "in", list(statuses - {"deferred", "processing"}))]
        if "processing" in statuses:
            domains.append(
                Domain("state", "=", "processing") & Domain("next_try_date", "=", False)
            )
        if "deferred" in statuses:
            domains.append(self._get_deferred_domain())
        domain = Domain.OR(domains)
        return domain if operator == "in" else ~domain
