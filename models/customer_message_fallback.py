from datetime import timedelta

from odoo import api, fields, models
from odoo.fields import Domain

from .customer_message import DONE_STATES, EMAIL_CHANNELS, PORTAL_CHANNELS

# what a fallback message carries over from the message it stands in for
FALLBACK_FIELDS = (
    "subject",
    "body_html",
    "sms_body",
    "lang",
    "ask_acknowledgement",
    "invoice_policy",
    "proforma_policy",
    "payment_policy",
    "document_date_from",
    "document_date_to",
)


class CustomerMessage(models.Model):
    """A fallback channel: the customers a message did not reach - no
    valid email address, a hard bounce or any final failure, no portal
    access, or a portal message still unread after some hours - get it
    again on the next channel (SMS after email, say), once, as a message of
    its own linked to the first one; each line records the line that stood
    in for it."""

    _inherit = "customer.message"

    fallback_channel = fields.Selection(
        [("sms", "SMS"), ("email", "Email")],
        string="If not reached, send by",
        help="Customers the message does not reach get it on this channel: no "
        "valid email address, a failed delivery, or a portal message unread "
        "after the hours below.",
    )
    fallback_hours = fields.Integer(
        string="Unread after (hours)",
        default=24,
        help="For the portal: customers who have not opened the message this "
        "long after it was sent get it on the fallback channel.",
    )
    fallback_of_id = fields.Many2one(
        "customer.message",
        string="Fallback of",
        readonly=True,
        ondelete="set null",
        index="btree_not_null",
    )
    fallback_ids = fields.One2many(
        "customer.message", "fallback_of_id", string="Fallback messages"
    )

    def _get_fallback_domain(self):
        """The lines of this message that did not reach their customer and
        may fall back (not yet done, the customer still there)."""
        self.ensure_one()
        failed = Domain("state", "=", "error")
        if self.channel in EMAIL_CHANNELS:
            unreachable = Domain("partner_id.email_normalized", "=", False) | Domain(
                "partner_id.email_suppressed", "=", True
            )
            failed |= Domain("state", "=", "cancelled") & unreachable
        if self.channel == "portal":
            without_portal = self.env["res.partner"]._search(
                self._get_without_portal_domain()
            )
            failed |= Domain("state", "=", "cancelled") & Domain(
                "partner_id", "in", without_portal
            )
        if self.channel in PORTAL_CHANNELS:
            since = fields.Datetime.now() - timedelta(hours=self.fallback_hours)
            failed |= (
                Domain("state", "=", "sent")
                & Domain("read_date", "=", False)
                & Domain("sent_date", "<=", since)
            )
        return (
            Domain("message_id", "=", self.id)
            & Domain("fallback_line_id", "=", False)
            # lines without their customer (erased, deleted) go to nobody
            & Domain("partner_id", "!=", False)
            & failed
        )

    def _is_fallback_due(self):
        self.ensure_one()
        if self.state not in DONE_STATES or not self.fallback_channel:
            return False
        if self.channel in PORTAL_CHANNELS:
            # the unread ones are known once the hours have passed
            return self.done_date <= fields.Datetime.now() - timedelta(
                hours=self.fallback_hours
            )
        return True

    def _send_fallback(self):
        """Send the message on its fallback channel to the customers it did
        not reach, once (the key is the message's), and link the lines."""
        self.ensure_one()
        Recipient = self.env["customer.message.recipient"]
        lines = Recipient.search(self._get_fallback_domain())
        if not lines:
            return self.browse()
        values = {name: self[name] for name in FALLBACK_FIELDS}
        values.update(
            channel=self.fallback_channel,
            company_id=self.company_id.id,
            template_id=self.template_id.id,
            author_id=self.author_id.id,
            origin="automated",
            origin_ref=self.env._("Fallback of “%(subject)s”", subject=self.subject),
            fallback_of_id=self.id,
            attachment_ids=[fields.Command.set(self.attachment_ids.ids)],
            recipient_filter=self.env._(
                "Customers “%(subject)s” did not reach", subject=self.subject
            ),
        )
        # the content is the message's own, checked when it was written
        fallback = self._send_to_customers(
            lines.partner_id,
            values,
            process="cron",
            key=f"fallback-{self.id}",
            key_origin=self,
        )
        new_lines = {line.partner_id: line for line in fallback.sudo().recipient_ids}
        for line in lines:
            line.fallback_line_id = new_lines.get(line.partner_id)
        return fallback

    def _hook_done(self):
        # called by _update_state (customer_message_state.py): the fallback's cron
        # is due once the message is done (after the hours a portal
        # message has to be read)
        result = super()._hook_done()
        cron = self.env.ref("customer_messages.ir_cron_customer_message_fallback")
        for message in self.filtered("fallback_channel"):
            # sudo: the cron is woken whoever sends
            cron.sudo()._trigger(
                at=message.done_date + timedelta(hours=message.fallback_hours)
                if message.channel in PORTAL_CHANNELS
                else None
            )
        return result

    @api.model
    def _cron_send_fallbacks(self):
        """The finished messages with a fallback channel whose customers were
        not all reached get it on that channel."""
        messages = self.search(
            Domain("fallback_channel", "!=", False)
            & Domain("state", "in", DONE_STATES)
            & Domain("fallback_ids", "=", False),
            order="id",
        )
        for message in messages.filtered(lambda m: m._is_fallback_due()):
            message._send_fallback()
            if self._auto_commit():
                self.env["ir.cron"]._commit_progress(1)
