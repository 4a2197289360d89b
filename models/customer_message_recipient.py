import logging

from markupsafe import Markup

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import email_normalize

_logger = logging.getLogger(__name__)

RECIPIENT_STATES = [
    ("new", "New"),
    ("processing", "Processing"),
    ("sent", "Sent"),
    ("cancelled", "Cancelled"),
    ("error", "Sent with error"),
    ("removed", "Removed"),
]
# The states in which a customer finds the message in the portal: published
# (its email may still be queued, or have failed).
PORTAL_STATES = ("processing", "sent", "error")


class CustomerMessageRecipient(models.Model):
    """One customer of a message, with what was delivered and its status.

    The status follows Odoo's queues: the mail.mail or sms.sms of the line
    write it back when they are sent or fail, in the queue's own transaction.
    """

    _name = "customer.message.recipient"
    _description = "Customer Message Recipient"
    _inherit = ["portal.mixin"]
    _order = "id desc"
    _rec_name = "partner_id"

    message_id = fields.Many2one(
        "customer.message",
        required=True,
        index=True,
        ondelete="cascade",
    )
    # not required: a line outlives its customer (deleted, or erased by a
    # privacy request: see models/privacy/), so that
    # the history keeps its counts
    partner_id = fields.Many2one(
        "res.partner", string="Customer", index=True, ondelete="set null"
    )
    customer_number = fields.Integer(string="Customer ID", related="partner_id.id")
    erased_date = fields.Datetime(
        string="Erased on",
        readonly=True,
        copy=False,
        help="When the customer's personal data was erased from this line (a "
        "privacy request, or the customer deleted): its status and dates are "
        "kept for the history.",
    )

    company_id = fields.Many2one(
        related="message_id.company_id", store=True, index=True
    )
    channel = fields.Selection(related="message_id.channel", store=True)
    origin = fields.Selection(related="message_id.origin", store=True, string="Type")
    message_date = fields.Datetime(
        related="message_id.date", store=True, string="Date", index=True
    )
    address_partner_id = fields.Many2one(
        "res.partner",
        string="Sent to contact",
        index="btree_not_null",
        ondelete="set null",
        help="The contact of the customer the email went to, when its category "
        "is routed to another contact than the customer (its invoice address).",
    )
    email = fields.Char(help="The address the email was sent to.")
    phone = fields.Char(help="The number the SMS was sent to.")
    subject = fields.Char(help="The subject as rendered for this customer.")
    body_html = fields.Html(
        string="Body",
        sanitize="email_outgoing",
        help="The message as rendered for this customer.",
    )
    sms_body = fields.Text(string="SMS text")
    state = fields.Selection(
        selection=RECIPIENT_STATES, default="new", required=True, index=True
    )
    failure_reason = fields.Text()
    delivery_attempts = fields.Integer(
        help="Tries that got a temporary answer (the server busy or out of reach)."
    )
    last_answer = fields.Text(help="What the server answered the last try.")
    next_try_date = fields.Datetime(
        string="Next try", help="When a deferred email is tried again."
    )
    previous_failures = fields.Text(
        readonly=True,
        help="The failures before each Retry failed, the latest first: when, "
        "after how many tries, and why.",
    )
    scheduled_date = fields.Datetime(
        string="Send at",
        readonly=True,
        help="When this customer gets the message: the scheduled time of day in "
        "the customer's time zone.",
    )
    sent_date = fields.Datetime(string="Sent on")
    done_date = fields.Datetime(string="Done on")
    read_date = fields.Datetime(
        string="Read on", help="When the customer opened it in the portal."
    )
    fallback_line_id = fields.Many2one(
        "customer.message.recipient",
        string="Fallback",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The line of the message sent on the fallback channel, since this "
        "one did not reach the customer.",
    )
    acknowledged_date = fields.Datetime(
        string="Acknowledged on",
        readonly=True,
        help="When the customer clicked I acknowledge in the portal.",
    )
    acknowledged_uid = fields.Many2one(
        "res.users",
        string="Acknowledged by",
        readonly=True,
        help="The portal user who acknowledged it (empty: the holder of the "
        "email's link, not logged in).",
    )
    attachment_ids = fields.Many2many(
        "ir.attachment",
        "customer_message_recipient_ir_attachment_rel",
        "recipient_id",
        "attachment_id",
        string="Documents",
        # invoices' legal PDFs are attachments of a binary field (res_field)
        context={"skip_res_field_check": True},
        help="The PDFs of this customer's own documents.",
    )
    mail_mail_id = fields.Many2one(
        "mail.mail", string="Queued email", index="btree_not_null", ondelete="set null"
    )
    sms_id = fields.Many2one(
        "sms.sms", string="SMS", index="btree_not_null", ondelete="set null"
    )
    portal_message_id = fields.Many2one(
        "mail.message",
        string="Portal message",
        index="btree_not_null",
        ondelete="set null",
        help="The note of the publication in the customer's chatter.",
    )
    email_reference = fields.Char(
        string="Email Message-ID",
        index="btree_not_null",
        copy=False,
        help="The Message-Id of the sent email, to match its bounce.",
    )
    trigger_key = fields.Char(
        copy=False,
        help="What sent it automatically: one message per customer and trigger.",
    )

    _trigger_key_uniq = models.UniqueIndex(
        "(trigger_key) WHERE trigger_key IS NOT NULL",
        "This automation already sent its message to this customer.",
    )
    _message_partner_uniq = models.UniqueIndex(
        "(message_id, partner_id)", "A customer receives a message once."
    )

    @api.depends("partner_id", "message_id", "erased_date")
    def _compute_display_name(self):
        for recipient in self:
            customer = (
                recipient._get_erased_placeholder()
                if recipient.erased_date
                else recipient.partner_id.display_name
            )
            recipient.display_name = f"{recipient.message_id.subject} - {customer}"

    # ------------------------------------------------------------------
    # QUEUE RECORDS (made and sent by customer.message._queue_batch)
    # ------------------------------------------------------------------

    @api.model
    def _lock_new(self, message, after_id, limit):
        """The next new lines of the message (by id, after after_id), locked
        until the end of the transaction; lines another worker holds are
        skipped, those whose customer may no longer receive it are
        cancelled (``_recheck_exclusions``)."""
        while True:
            lines = self.search(
                Domain("message_id", "=", message.id)
                & Domain("state", "=", "new")
                & Domain("id", ">", after_id)
                & (
                    Domain("scheduled_date", "=", False)
                    | Domain("scheduled_date", "<=", fields.Datetime.now())
                ),
                order="id",
                limit=limit,
            )
            # the gate of delivery: customer_message_claim.py
            locked = lines.try_lock_for_update()._recheck_exclusions()
            if locked or not lines or message.pause_reason:
                # paused by its category's circuit breaker: the rest waits too
                return locked
            after_id = lines[-1].id

    def _set_content(self, rendered, documents):
        """Keep what each line sends: its rendered content and its
        documents, and mark it as being processed.

        :param dict rendered: {partner id: {"subject", "body_html", "sms_body"}}
        :param dict documents: {partner: ir.attachment}
        """
        for line in self:
            content = rendered[line.partner_id.id]
            values = {
                "state": "processing",
                "subject": content["subject"],
                "body_html": content["body_html"],
                "sms_body": content["sms_body"],
            }
            if documents[line.partner_id]:
                values["attachment_ids"] = [
                    fields.Command.set(documents[line.partner_id].ids)
                ]
            line.write(values)

    def _publish_in_portal(self):
        """Make the message visible in the customer portal and log it in the
        customers' chatter."""
        if not self:
            return
        message = self.message_id
        bodies = {
            recipient.partner_id.id: Markup("<p>%s</p>")
            % self.env._(
                "Message “%(subject)s” published in the customer portal.",
                subject=recipient.subject,
            )
            for recipient in self
        }
        partners = self.partner_id.with_context(mail_create_nosubscribe=True)
        logged = partners._message_log_batch(
            bodies=bodies, author_id=message.author_id.partner_id.id
        )
        by_partner = {log.res_id: log for log in logged}
        now = fields.Datetime.now()
        for recipient in self:
            values = {"portal_message_id": by_partner[recipient.partner_id.id].id}
            if message.channel == "portal":
                values.update(state="sent", sent_date=now, done_date=now)
            recipient.write(values)
        if message.channel == "portal":
            self._trace_sent()

    def _create_emails(self, email_from):
        """One mail.mail per line (one status each), in one batch."""
        if not self:
            return
        # sudo: queue records, read by administrators only
        mails = (
            self.env["mail.mail"]
            .sudo()
            .create([line._prepare_mail_values(email_from) for line in self])
        )
        for line, mail in zip(self, mails, strict=True):
            line.mail_mail_id = mail.id

    def _prepare_mail_values(self, email_from):
        self.ensure_one()
        message = self.message_id
        body = self.body_html or ""
        if message.channel == "portal_email":
            body = self._hook_portal_email_body(body)
        values = {
            "subject": self.subject,
            "body_html": body,
            "email_from": email_from,
            "reply_to": email_from,
            "author_id": message.author_id.partner_id.id,
            "model": "res.partner",
            "res_id": self.partner_id.id,
            "message_type": "email_outgoing",
            # the line keeps what was sent; deleted in bulk once sent
            "auto_delete": True,
            "customer_message_recipient_id": self.id,
            "state": "outgoing",
        }
        if message.test_email:
            # the staff address typed for the test, checked when queued
            values["email_to"] = email_normalize(message.test_email)
        else:
            # addressed to the customer as Odoo's partner emails are: one
            # address built from the partner (see mail.mail), never a string
            # that a name could add addresses to
            values["recipient_ids"] = [
                fields.Command.link((self.address_partner_id or self.partner_id).id)
            ]
            # the line named in the email: complaint reports return it
            headers = {
                **self._hook_email_headers(email_from),
                **self._get_line_header(),
            }
            values["headers"] = repr(headers)
        attachments = message.attachment_ids | self.attachment_ids
        if attachments:
            values["attachment_ids"] = [fields.Command.set(attachments.ids)]
        return values

    def _hook_email_headers(self, email_from):
        """Extension point: the extra headers of the email of this line
        ({name: value}, none here; the consent package adds the one-click
        unsubscribe headers). Called per email: must not query."""
        self.ensure_one()
        return {}

    def _hook_portal_email_body(self, body):
        """Extension point: the body of the email of the Customer portal &
        Email channel. Ends with the link to the message in the portal,
        with the line's access token: it opens this message (and its files)
        without a login, and nothing else."""
        self.ensure_one()
        url = self.get_base_url() + self.get_portal_url()  # makes the token
        label = self.with_context(lang=self.partner_id.lang).env._(
            "View in your portal"
        )
        button_style = (
            "display: inline-block; padding: 8px 16px; border-radius: 4px; "
            "background-color: #875a7b; color: #ffffff; text-decoration: none;"
        )
        link = Markup(
            '<p style="margin: 24px 0 0 0;"><a href="%s" style="%s">%s</a></p>'
        ) % (url, button_style, label)
        return Markup(body or "") + link

    def _create_sms(self):
        if not self:
            return
        sms_list = (
            self.env["sms.sms"]
            .sudo()  # sudo: queue records
            .create(
                [
                    {
                        "partner_id": recipient.partner_id.id,
                        "number": recipient.partner_id._phone_format(
                            number=recipient.phone,
                            country=recipient.partner_id.country_id,
                            force_format="E164",
                        )
                        or recipient.phone,
                        "body": recipient.sms_body or recipient.subject,
                        "state": "outgoing",
                        "customer_message_recipient_id": recipient.id,
                    }
                    for recipient in self
                ]
            )
        )
        for recipient, sms in zip(self, sms_list, strict=True):
            recipient.sms_id = sms.id

    def _deliver(self, hand_over=False):
        """Send the queued emails and SMS of these lines now, each at most
        once (see mail.mail._send_queued_in_chunks); their statuses come
        back through _set_delivery_result.

        :param bool hand_over: more batches follow: leave the last emails to
            the sending cron
        """
        # sudo: queue records, readable by administrators only
        mails = self.mail_mail_id.filtered(lambda mail: mail.state == "outgoing")
        mails.sudo()._send_queued_in_chunks(
            auto_commit=self.env["customer.message"]._auto_commit(),
            hand_over=hand_over,
        )
        sms = self.sms_id.filtered(lambda sms: sms.state == "outgoing")
        if sms:
            sms.sudo().send(unlink_failed=False, unlink_sent=False)

    def _get_erased_placeholder(self):
        """What replaces the customer's name, address and number."""
        self.ensure_one()
        return f"erased-{self.id}"
