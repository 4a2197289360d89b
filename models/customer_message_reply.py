import logging

from markupsafe import Markup

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import email_normalize, html2plaintext, is_html_empty

_logger = logging.getLogger(__name__)

REPLY_CHANNELS = [("email", "Email"), ("portal", "Customer portal"), ("sms", "SMS")]
REPLY_STATES = [
    ("attached", "On the customer"),
    ("unmatched", "Sender not verified"),
]


class CustomerMessageReply(models.Model):
    """What a customer wrote back to a message, by email, in the portal or
    by SMS. Every channel lands its replies through one gate, ``_land``:
    the reply is attached to the line it answers and to the customer (a
    note in the customer's chatter, the line marked Replied, the author of
    the message or the category's user given an activity) only when the
    channel proves the sender is that customer; otherwise it is kept here,
    attached to nobody.

    Emails arrive through Odoo's mail gateway: the aliases of
    data/customer_message_reply_data.xml route them here (``message_new``),
    the incoming email itself stays in this record's chatter."""

    _name = "customer.message.reply"
    _description = "Customer Message Reply"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "date desc, id desc"
    _mail_post_access = "read"

    name = fields.Char(string="Subject", readonly=True)
    date = fields.Datetime(default=fields.Datetime.now, readonly=True, index=True)
    channel = fields.Selection(REPLY_CHANNELS, required=True, readonly=True)
    state = fields.Selection(REPLY_STATES, required=True, readonly=True, index=True)
    sender = fields.Char(
        readonly=True, help="The address or number the reply came from."
    )
    body = fields.Html(string="Reply", readonly=True)
    recipient_id = fields.Many2one(
        "customer.message.recipient",
        string="Line",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The line of the message this reply answers.",
    )
    customer_message_id = fields.Many2one(
        "customer.message",
        string="Message",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
    claimed_recipient_id = fields.Many2one(
        "customer.message.recipient",
        string="Claims to answer",
        readonly=True,
        ondelete="set null",
        help="The line the reply names, when its sender is not that line's "
        "customer: the reply is not attached to it.",
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
    author_id = fields.Many2one(
        "res.partner",
        string="Written by",
        readonly=True,
        ondelete="set null",
        help="The contact who wrote it, when known.",
    )
    user_id = fields.Many2one(
        "res.users", string="Notified", readonly=True, ondelete="set null"
    )
    company_id = fields.Many2one(
        "res.company",
        readonly=True,
        index=True,
        default=lambda self: self.env.company,
    )
    note_id = fields.Many2one(
        "mail.message",
        string="Chatter note",
        readonly=True,
        ondelete="set null",
        help="The note of the reply in the customer's chatter.",
    )

    # ------------------------------------------------------------------
    # THE GATE
    # ------------------------------------------------------------------

    @api.model
    def _land(self, channel, sender, body, lines=None, customer=None, **values):
        """The one entry of every reply (email, portal, SMS).

        :param str channel: email | portal | sms
        :param sender: the address or number it came from (str), or for the
            portal the contact logged in (res.partner)
        :param body: the text (HTML)
        :param lines: the lines it may answer (the references of an email,
            the page of the portal, the last SMS sent to the number); it is
            attached to the first whose customer the sender proves to be
        :param customer: a customer the channel found without a line (the
            owner of the number of an SMS); attached only when proven too
        :return: the reply (customer.message.reply), as superuser
        """
        lines = (lines or self.env["customer.message.recipient"]).sudo()
        line = next(
            (line for line in lines if self._is_sender_of(channel, sender, line)),
            None,
        )
        if line:
            customer = line.partner_id
        elif customer and not self._is_sender_of(channel, sender, None, customer):
            customer = None
        author = sender if isinstance(sender, models.BaseModel) else None
        claimed = lines[:1] if not line else lines.browse()
        values = {
            "channel": channel,
            "state": "attached" if customer else "unmatched",
            "sender": author.email if author else sender,
            "body": body,
            "recipient_id": line.id if line else False,
            "customer_message_id": (line or claimed).message_id.id,
            "claimed_recipient_id": claimed.id,
            "partner_id": customer.id if customer else False,
            "author_id": author.id if author else customer and customer.id,
            "company_id": (line or claimed).company_id.id
            or (customer and customer.company_id.id)
            or self.env.company.id,
            **values,
        }
        # sudo: replies are written by the system, whoever sends them (a
        # portal customer, the SMS provider, the mail gateway); their
        # access was checked by the channel
        reply = (
            self.sudo()
            .with_context(mail_create_nosubscribe=True, mail_create_nolog=True)
            .create(values)
        )
        if customer:
            reply._attach()
        return reply

    @api.model
    def _is_sender_of(self, channel, sender, line, customer=None):
        """Whether the channel proves that ``sender`` is the customer of
        ``line`` (or ``customer``): the address the line's email went to or
        the customer's own, the customer's number, or for the portal a
        contact of the customer's company. A reply never joins another
        customer on its word alone (the references of an email are text the
        sender writes)."""
        customer = line.partner_id if line else customer
        if not customer:
            return False
        if channel == "portal":
            return (
                isinstance(sender, models.BaseModel)
                and sender.commercial_partner_id == customer.commercial_partner_id
            )
        if channel == "sms":
            # the inbound webhook gives the number in E.164
            return bool(sender) and sender == customer.phone_sanitized
        address = email_normalize(sender or "")
        known = {customer.email_normalized}
        if line:
            known |= {
                email_normalize(line.email or ""),
                line.address_partner_id.email_normalized,
            }
        return bool(address) and address in known

    def _attach(self):
        """A proven reply joins its customer: a note in the customer's
        chatter (staff only: a note), the line marked Replied, and an
        activity for the message's author or the category's user."""
        for reply in self:
            line = reply.recipient_id
            subject = line.subject or line.message_id.subject
            header = (
                self.env._(
                    "Reply to “%(subject)s” (%(channel)s):",
                    subject=subject,
                    channel=reply._get_channel_label(),
                )
                if line
                else self.env._(
                    "Message (%(channel)s):", channel=reply._get_channel_label()
                )
            )
            body = Markup("<p>%s</p>%s") % (header, reply.body or "")
            note = reply.partner_id.with_context(
                mail_create_nosubscribe=True
            )._message_log(
                body=body,
                author_id=reply.author_id.id or reply.partner_id.id,
                message_type="comment",
            )
            reply.note_id = note
            if line:
                line.write({"is_replied": True, "last_reply_date": reply.date})
            reply._notify_staff()

    def _notify_staff(self):
        """An activity on the reply for whoever answers the category's
        replies, else the message's author (staff only)."""
        for reply in self:
            message = reply.recipient_id.message_id
            user = message.category_id.reply_user_id or message.author_id
            if not user or user.share or not user.active:
                continue
            reply.user_id = user
            reply.activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=user.id,
                summary=self.env._(
                    "Customer reply from %(customer)s",
                    customer=reply.partner_id.display_name,
                ),
                note=Markup("<p>%s</p>") % html2plaintext(reply.body or "")[:500],
            )

    def _get_channel_label(self):
        self.ensure_one()
        return dict(self._fields["channel"]._description_selection(self.env))[
            self.channel
        ]

    # ------------------------------------------------------------------
    # EMAIL: ODOO'S MAIL GATEWAY
    # ------------------------------------------------------------------

    def _routing_check_route(self, message, message_dict, route, raise_exception=True):
        # Called by the gateway on the model of an alias only: the emails
        # sent to the aliases of replies. Automatic emails (auto-replies,
        # vacation responders, mailing lists) are dropped here, before any
        # record or bounce email is made: no loop with another robot.
        if self._is_automatic_email(message):
            _logger.info(
                "Automatic email %s to the replies' alias ignored",
                message_dict.get("message_id"),
            )
            return ()
        return super()._routing_check_route(
            message, message_dict, route, raise_exception=raise_exception
        )

    @api.model
    def _is_automatic_email(self, message):
        """RFC 3834 Auto-Submitted (anything but "no"), Precedence bulk,
        junk, list or auto_reply, Microsoft's X-Auto-Response-Suppress
        replies and delivery reports (RFC 3464) are not customers writing."""
        auto = str(message.get("Auto-Submitted") or "no").strip().lower()
        precedence = str(message.get("Precedence") or "").strip().lower()
        return (
            auto.split(";")[0].strip() != "no"
            or precedence in ("bulk", "junk", "list", "auto_reply")
            or bool(message.get("X-Autoreply") or message.get("X-Autorespond"))
            or message.get_content_type() == "multipart/report"
        )

    @api.model
    def message_new(self, msg_dict, custom_values=None):
        # An email to the alias of replies (see the module's data): a reply
        # lands through the gate, on the lines its references name; emails
        # to the aliases of the packages are theirs (_hook_message_new).
        custom_values = dict(custom_values or {})
        record = self._hook_message_new(msg_dict, custom_values)
        if record is not None:
            return record
        references = (msg_dict.get("references") or "").split() + (
            msg_dict.get("in_reply_to") or ""
        ).split()
        lines = (
            self.env["customer.message.recipient"]
            .sudo()
            .search(
                [
                    ("email_reference", "in", references[-32:]),
                    ("origin", "!=", "test"),
                ],
                order="id desc",
            )
            if references
            else self.env["customer.message.recipient"]
        )
        body = msg_dict.get("body") or ""
        return self._land(
            "email",
            msg_dict.get("email_from") or "",
            "" if is_html_empty(body) else body,
            lines=lines,
            name=msg_dict.get("subject") or "",
        )

    @api.model
    def _hook_message_new(self, msg_dict, custom_values):
        """Extension point: an email to one of the aliases of this model,
        with the alias' defaults (``custom_values``), before it is taken as
        a reply. Return a record of this model to take it (the consent
        package: the unsubscribe alias), or None."""
        return None

    # ------------------------------------------------------------------
    # SMS
    # ------------------------------------------------------------------

    @api.model
    def _land_sms(self, number, text):
        """An inbound SMS that is no keyword: it answers the last SMS sent to
        that number, on the customer who had it; from a known number with no
        SMS sent, it lands on the number's only customer; otherwise it is
        kept, unattached.

        :param str number: the number in E.164
        """
        Line = self.env["customer.message.recipient"].sudo()
        # sudo: the provider is authenticated; the customers are looked up
        # by the number it gives only
        owners = (
            self.env["res.partner"].sudo().search([("phone_sanitized", "=", number)])
        )
        line = (
            Line.search(
                Domain("partner_id", "in", owners.ids)
                & Domain("channel", "=", "sms")
                & Domain("state", "in", ("sent", "error"))
                & Domain("origin", "!=", "test"),
                order="sent_date desc, id desc",
                limit=1,
            )
            if owners
            else Line
        )
        body = Markup("<p>%s</p>") % text
        return self._land(
            "sms",
            number,
            body,
            lines=line,
            customer=owners if len(owners) == 1 else None,
            name=text[:80],
        )
