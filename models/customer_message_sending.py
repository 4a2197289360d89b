import logging
import threading

from odoo import api, fields, models, modules
from odoo.exceptions import UserError
from odoo.fields import Domain

from ..tools.placeholders import placeholders_to_qweb
from .customer_message import (
    DONE_STATES,
    EMAIL_CHANNELS,
    PORTAL_CHANNELS,
)

_logger = logging.getLogger(__name__)

# Messages with at most this many recipients are processed at once, in the
# request that confirms them; larger ones are processed by the cron in batches.
IMMEDIATE_LIMIT = 50


class CustomerMessage(models.Model):
    """The send path, in the order a message goes through it:

    1. entry: ``_send_to_customers`` records the message (the composer,
       server actions and integrators' code all call it);
    2. recipients: one line per customer, the excluded ones with the reason
       (customer_message_audience.py, customer_message_exclusions.py);
    3. queue: small messages are processed at once, others by the cron;
    4. batches: ``_process`` locks the new lines batch by batch; each batch is
       rendered, gets its documents, is published in the portal and gets its
       queue records (mail.mail, sms.sms), then is sent;
    5. crons: ``_cron_process`` and ``_cron_send_emails``.

    Data goes down (message, batch, lines, queue records); outcomes come up
    from the queues to the lines (customer.message.recipient
    ``_set_delivery_result``) and from the lines to the message
    (``_update_state``).
    """

    _inherit = "customer.message"

    # ------------------------------------------------------------------
    # 1. ENTRY
    # ------------------------------------------------------------------

    @api.model
    def _send_to_customers(
        self, records, values, process="auto", key=None, key_origin=None
    ):
        """Create a message for the customers of ``records`` and queue it.

        :param records: res.partner records, or any records that lead to a
            customer (see ``_get_customers_of``; invoices and payments: those
            very documents are attached as PDFs);
        :param dict values: values of the customer.message (subject, body_html
            or template_id, channel, attachment_ids, policies, origin...);
        :param str process: when the message is processed: "auto" in this
            transaction when it has at most IMMEDIATE_LIMIT recipients, else
            by the cron; "now" in this transaction whatever its size (a test
            send); "cron" by the cron
        :param str key: an idempotency key: when a message was sent with
            the same key in the last 24 hours, that message is returned and
            nothing is sent again (code or a rule that may run twice)
        :param key_origin: the record that sends with the key, whose own it
            is (an incident...; see customer_message_keys.py)
        :return: the created customer.message
        """
        company = self.env["res.company"].browse(values.get("company_id"))
        if key and (first := self._get_message_by_key(key, company, key_origin)):
            return first
        self._check_channels_ready(
            {values.get("channel") or "email", values.get("fallback_channel")},
            company or self.env.company,
        )
        values = dict(values)
        if values.get("body_html"):
            # the {{ placeholders }} typed in the text work in the body too
            values["body_html"] = placeholders_to_qweb(values["body_html"])
        partners = self._get_customers_of(records)
        if records._name == "account.move":
            values.setdefault("invoice_ids", [fields.Command.set(records.ids)])
        elif records._name == "account.payment":
            values.setdefault("payment_ids", [fields.Command.set(records.ids)])
        template = self.env["mail.template"].browse(values.get("template_id"))
        if template:
            # what the template sets (its document rules: the unpaid
            # reminder's invoices; channel, SMS text) unless given
            for fname, value in template._get_customer_message_settings().items():
                values.setdefault(fname, value)
        if template and not values.get("subject"):
            values["subject"] = template.subject
            values.setdefault("body_html", template.body_html)
            values.setdefault("lang", template.lang)
        if not values.get("subject"):
            raise UserError(self.env._("A message needs a subject."))
        if not partners:
            raise UserError(self.env._("There is no customer to send this message to."))
        documents = {
            fname: values.pop(fname)
            for fname in ("invoice_ids", "payment_ids")
            if values.get(fname)
        }
        self._check_picked_documents(documents)
        message = self._create_message(values, key=key, key_origin=key_origin)
        # sudo: the documents were checked above; the history (lines, state)
        # is the system's, see customer_message.py
        message_sudo = message.sudo()
        # the files uploaded in the composer belong to the message now (not
        # to a test of it): the composer's daily cleanup deletes what still
        # belongs to it
        message_sudo.filtered(lambda m: m.origin != "test").attachment_ids.filtered(
            lambda attachment: attachment.res_model
            in (False, "customer.message.composer")
        ).write({"res_model": message._name, "res_id": message.id})
        if documents:
            message_sudo.write(documents)
        message_sudo._create_recipients(partners)
        if message_sudo._needs_approval():
            message_sudo._request_approval()
        else:
            message_sudo._action_queue(process=process)
        return message

    # ------------------------------------------------------------------
    # 2. RECIPIENTS: customer_message_audience.py makes the lines
    # (``_create_recipients``), with the reasons of the exclusion engine
    # (customer_message_exclusions.py: ``_get_exclusion_rules`` and the
    # hook ``_hook_exclusion_rules`` through which packages add rules)
    # ------------------------------------------------------------------

    # ------------------------------------------------------------------
    # 3. QUEUE
    # ------------------------------------------------------------------

    def _action_queue(self, process="auto"):
        """Process the due messages now, or hand them to the cron (at their
        scheduled time); see _send_to_customers for ``process``."""
        to_cron = self.browse()
        now = fields.Datetime.now()
        for message in self:
            due_date = message._get_next_due_date()
            if due_date != message.due_date:
                message.due_date = due_date
            due = not due_date or due_date <= now
            small = message.pending_count <= IMMEDIATE_LIMIT
            if due and (process == "now" or (process == "auto" and small)):
                message._process()
            else:
                to_cron |= message
        if to_cron:
            cron = self.env.ref("customer_messages.ir_cron_customer_message_process")
            for due_date in set(to_cron.mapped("due_date")):
                cron._trigger(at=due_date or None)
        return True

    @api.model
    def _get_batch_size(self):
        return int(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("customer_messages.batch_size", 500)
        )

    def _get_line_batch_size(self):
        """Lines processed per batch of this message: fewer when it attaches
        documents, whose PDFs may have to be rendered (a few tenths of a
        second each), so that every cron worker gets batches of them."""
        self.ensure_one()
        if self._attaches_documents():
            return int(
                self.env["ir.config_parameter"]
                .sudo()
                .get_param("customer_messages.document_batch_size", 20)
            )
        return self._get_batch_size()

    @api.model
    def _auto_commit(self):
        """Commit per batch, except in tests, which roll back."""
        return not modules.module.current_test and not getattr(
            threading.current_thread(), "testing", False
        )

    # ------------------------------------------------------------------
    # 4. BATCHES
    # ------------------------------------------------------------------

    def _process(self, limit=None, make_lines=True):
        """Deliver to the new recipients of the messages, batch by batch.

        Each batch is locked (another worker skips it), rendered and queued
        (``_queue_batch``), then its queue records are sent. Every cron
        worker processes batches: the processing cron wakes the sending
        crons up when there is more than one batch, and they take the
        batches it has not locked (``_cron_send_emails``), so N workers
        render N batches (and their PDFs) at once. Emails left queued are
        sent by ``_deliver_queued_emails``, which all workers run as well.

        :param limit: stop after about this many recipients (cron time box)
        :param bool make_lines: make the lines not made yet first (the
            processing cron; the other workers take the lines made)
        :return: the number of recipients processed
        """
        done = 0
        auto_commit = self._auto_commit()
        Recipient = self.env["customer.message.recipient"]
        for message in self:
            if message.state in ("cancelled", "removed", *DONE_STATES):
                continue
            if message.state == "new":
                message.state = "processing"
            if make_lines:
                # the lines not made yet first (see _create_recipients)
                message._create_pending_recipients(commit=auto_commit)
            batch_size = message._get_line_batch_size()
            last_id = 0
            while (limit is None or done < limit) and not self._out_of_time():
                batch = Recipient._lock_new(message, last_id, batch_size)
                if not batch:
                    break
                first_batch = not last_id
                last_id = batch[-1].id
                if auto_commit and first_batch and len(batch) == batch_size:
                    # more batches follow: the other workers take some
                    self.env["mail.mail"]._trigger_sending_crons()
                message._process_batch(batch, hand_over=len(batch) == batch_size)
                done += len(batch)
                if auto_commit:
                    remaining = Recipient.search_count(
                        [
                            ("message_id", "in", self.ids),
                            ("state", "in", ("new", "processing")),
                        ]
                    )
                    self.env["ir.cron"]._commit_progress(
                        len(batch), remaining=remaining
                    )
            message._update_state()
            if message.state == "processing":
                # customers held (their time zone, quiet hours) come later
                message._wait_for_held_recipients()
        return done

    def _process_batch(self, lines, hand_over=False):
        """Queue a batch of lines of this message, then send it.

        The batch is prepared in a savepoint: when it fails (a template error
        for one customer...), each line is prepared alone, and the ones that
        fail get the error as their status. Sending happens after, outside
        any savepoint, since it commits as it sends.

        :param bool hand_over: more batches follow: leave the last emails to
            the sending cron (see mail.mail._send_queued_in_chunks)
        """
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                self._queue_batch(lines)
        except Exception:  # noqa: BLE001 - any error becomes the lines' status
            for line in lines:
                try:
                    with self.env.cr.savepoint():
                        self._queue_batch(line)
                except Exception as error:  # noqa: BLE001
                    _logger.warning(
                        "Customer message %s to partner %s failed: %s",
                        self.id,
                        line.partner_id.id,
                        error,
                    )
                    line._set_delivery_result(self._describe_failure(error))
        lines.filtered(lambda line: line.state == "processing")._deliver(
            hand_over=hand_over
        )

    @api.model
    def _describe_failure(self, error):
        """The reason a line failed, in words: the error and what caused it
        (Odoo's "Failed to render..." hides the template's own error)."""
        reason = str(error) or error.__class__.__name__
        if error.__cause__ and str(error.__cause__) not in reason:
            reason = f"{reason}\n{error.__cause__}"
        return reason

    def _queue_batch(self, lines):
        """Render the lines' content and documents, publish them in the
        portal and create their queue records, per channel. Lines that got
        part of it in an earlier try (a crash) get only the rest."""
        self.ensure_one()
        new = lines.filtered(lambda line: line.state == "new")
        if new:
            partners = new.partner_id
            new._set_content(
                self._render_for_partners(partners),
                self._get_document_attachments(self._get_documents(partners)),
            )
        if self.channel in PORTAL_CHANNELS:
            lines.filtered(lambda line: not line.portal_message_id)._publish_in_portal()
        if self.channel in EMAIL_CHANNELS:
            lines.filtered(lambda line: not line.mail_mail_id)._create_emails(
                self._get_email_from()
            )
        elif self.channel == "sms":
            lines = lines.filtered(lambda line: not line.sms_id)
            setup_error = lines and self._get_sms_setup_error(self.company_id)
            if setup_error:
                # nothing could carry them: failed at once, with the reason
                lines._set_delivery_result(setup_error)
            else:
                lines._create_sms()

    def _get_email_from(self):
        self.ensure_one()
        return (
            self.author_id.email_formatted
            or self.company_id.email_formatted
            or self.env.user.email_formatted
        )

    # ------------------------------------------------------------------
    # 5. CRONS
    # ------------------------------------------------------------------

    @api.model
    def _cron_process(self):
        """Process the due messages, batch by batch, committing progress,
        then what earlier runs left behind."""
        messages = self.search(
            Domain("state", "in", ("new", "processing"))
            & (
                Domain("due_date", "=", False)
                | Domain("due_date", "<=", fields.Datetime.now())
            ),
            order="id",
        )
        for message in messages:
            message._process()
        # emails queued and not sent yet (a crash, a closed SMTP session, a
        # later try...)
        sent = self._deliver_queued_emails()
        # SMS left queued the same way
        stalled_sms = self.env["customer.message.recipient"].search(
            [("state", "=", "processing"), ("sms_id.state", "=", "outgoing")],
            limit=self._get_batch_size(),
        )
        stalled_sms._deliver()
        (sent | stalled_sms.message_id)._update_state()
        self._end_sending_run()

    @api.model
    def _cron_send_emails(self):
        """A worker beside the processing cron: it takes batches of the
        messages being processed (see _process), then sends queued emails."""
        processing = self.search(
            Domain("state", "=", "processing")
            & (
                Domain("due_date", "=", False)
                | Domain("due_date", "<=", fields.Datetime.now())
            ),
            order="id",
        )
        for message in processing:
            message._process(make_lines=False)
        (processing | self._deliver_queued_emails())._update_state()
        self._end_sending_run()

    @api.model
    def _deliver_queued_emails(self):
        """Send the queued emails of customer messages until none is left,
        chunk by chunk: several workers may run it at once, each chunk is
        claimed by one of them. Emails tried in this run and queued again
        (the server ended the session...) wait for the next one, as do all
        of them once a sending limit holds them.

        :return: the messages whose emails were sent
        """
        MailMail = self.env["mail.mail"].sudo()  # sudo: queue records
        # what workers that died left behind goes out again first
        recovered = MailMail._recover_claims()
        now = fields.Datetime.now()
        domain = (
            Domain("customer_message_recipient_id", "!=", False)
            & Domain("state", "=", "outgoing")
            & Domain("customer_message_claim_pid", "in", (0, False))
            & (
                Domain("scheduled_date", "=", False)
                | Domain("scheduled_date", "<=", now)
            )
        )
        messages = recovered
        last_id = 0
        while True:
            mails = MailMail.search(
                domain & Domain("id", ">", last_id),
                order="id",
                limit=self._get_batch_size(),
            )
            if not mails:
                break
            last_id = mails[-1].id
            messages |= mails.customer_message_recipient_id.message_id
            if mails._send_queued_in_chunks(auto_commit=self._auto_commit()):
                break  # a sending limit holds the rest until its next slot
        return messages
