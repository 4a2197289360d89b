from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain

from .customer_message import PORTAL_CHANNELS
from .customer_message_recipient import PORTAL_STATES

# what a reminder carries over from the message it reminds of
REMINDER_FIELDS = (
    "body_html",
    "sms_body",
    "channel",
    "lang",
    "company_id",
    "ask_acknowledgement",
    "invoice_policy",
    "proforma_policy",
    "payment_policy",
    "document_date_from",
    "document_date_to",
)


class CustomerMessage(models.Model):
    """Proof of reading: the portal keeps when each customer opened the
    message (``read_date`` of the line); a message may ask its customers to
    acknowledge it (a button in the portal, with date and user); the history
    shows the read rate, and a reminder goes to those who have not read (or
    acknowledged) it yet."""

    _inherit = "customer.message"

    ask_acknowledgement = fields.Boolean(
        string="Ask to acknowledge",
        help="The portal page offers an I acknowledge button; each recipient's "
        "date and user are kept (legal and outage notices...).",
    )
    published_count = fields.Integer(
        string="In the portal", compute="_compute_read_counts"
    )
    read_count = fields.Integer(string="Read", compute="_compute_read_counts")
    acknowledged_count = fields.Integer(
        string="Acknowledged", compute="_compute_read_counts"
    )
    read_rate = fields.Float(
        compute="_compute_read_counts",
        help="The share of the customers who got it in the portal and opened it.",
    )
    reminder_of_id = fields.Many2one(
        "customer.message",
        string="Reminder of",
        readonly=True,
        ondelete="set null",
        index="btree_not_null",
    )
    reminder_ids = fields.One2many(
        "customer.message", "reminder_of_id", string="Reminders"
    )

    @api.model
    def _get_published_domain(self):
        """The lines a customer can read in the portal."""
        return Domain("channel", "in", PORTAL_CHANNELS) & Domain(
            "state", "in", PORTAL_STATES
        )

    def _compute_read_counts(self):
        ids = [message_id for message_id in self._ids if isinstance(message_id, int)]
        counts = {}
        if ids:
            counts = {
                message.id: (published, read, acknowledged)
                for message, published, read, acknowledged in self.env[
                    "customer.message.recipient"
                ]._read_group(
                    Domain("message_id", "in", ids) & self._get_published_domain(),
                    ["message_id"],
                    ["__count", "read_date:count", "acknowledged_date:count"],
                )
            }
        for message in self:
            published, read, acknowledged = counts.get(message.id, (0, 0, 0))
            message.published_count = published
            message.read_count = read
            message.acknowledged_count = acknowledged
            message.read_rate = read / published if published else 0.0

    def _get_partners_to_remind(self):
        """The customers who got the message in the portal and have not read
        it, or not acknowledged it when it asks them to."""
        self.ensure_one()
        field = "acknowledged_date" if self.ask_acknowledgement else "read_date"
        return (
            self.env["customer.message.recipient"]
            .search(
                Domain("message_id", "=", self.id)
                & self._get_published_domain()
                & Domain(field, "=", False)
            )
            .partner_id
        )

    def action_remind(self):
        """Send the message again, as a reminder, to the customers who have
        not read (or acknowledged) it: once a day at most, a second click the
        same day opens the first reminder."""
        self.ensure_one()
        self.check_access("read")
        partners = self._get_partners_to_remind()
        if not partners:
            raise UserError(
                self.env._("Every customer has acknowledged this message.")
                if self.ask_acknowledgement
                else self.env._("Every customer has read this message.")
            )
        values = {name: self[name] for name in REMINDER_FIELDS}
        values.update(
            company_id=self.company_id.id,
            template_id=self.template_id.id,
            subject=self.env._("Reminder: %(subject)s", subject=self.subject),
            attachment_ids=[fields.Command.set(self.attachment_ids.ids)],
            reminder_of_id=self.id,
            recipient_filter=self.env._(
                "Customers who have not read “%(subject)s”", subject=self.subject
            ),
        )
        reminder = self._send_to_customers(
            partners,
            values,
            process="cron",
            key=f"reminder-{self.id}-{fields.Date.context_today(self)}",
            key_origin=self,
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "customer.message",
            "res_id": reminder.id,
            "view_mode": "form",
            "target": "current",
        }
