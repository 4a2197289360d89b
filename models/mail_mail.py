import logging
import smtplib
from collections import defaultdict
from datetime import timedelta

import psycopg2.errors

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL, exception_to_unicode, formataddr, split_every
from odoo.tools.mail import email_split_and_format_normalize

_logger = logging.getLogger(__name__)

# Emails of customer messages claimed at once, sent over one SMTP session,
# and committed: small enough for two workers to share a batch of them
SEND_CHUNK_SIZE = 100
# Chunks a worker with more to prepare leaves to the sending cron
HAND_OVER_CHUNKS = 2
# A claimed email still unsettled after this long was being sent by a worker
# that died: it may have reached the SMTP server, so it is not sent again.
CLAIM_TIMEOUT = timedelta(hours=1)


class MailMail(models.Model):
    _inherit = "mail.mail"

    customer_message_recipient_id = fields.Many2one(
        "customer.message.recipient",
        string="Customer message recipient",
        index="btree_not_null",
        ondelete="set null",
    )

    @api.model
    def process_email_queue(self, email_ids=(), batch_size=1000):
        # The emails of customer messages are sent by the module's cron, which
        # claims them before sending so that none goes out twice: Odoo's own
        # queue, which only claims them in its uncommitted transaction, leaves
        # them alone.
        filters = [
            *self.env.context.get("filters", []),
            ("customer_message_recipient_id", "=", False),
        ]
        return super(MailMail, self.with_context(filters=filters)).process_email_queue(
            email_ids=email_ids, batch_size=batch_size
        )

    def _prepare_outgoing_list(self, mail_server=False, doc_to_followers=None):
        # A customer types her own name (in the portal): the name of the
        # address is folded to one line, so that a line break in it can
        # neither start a header nor make the email fail.
        emails = super()._prepare_outgoing_list(
            mail_server=mail_server, doc_to_followers=doc_to_followers
        )
        if self.customer_message_recipient_id:
            for email in emails:
                partner = email["partner_id"]
                if partner and email["email_to_normalized"]:
                    name = " ".join((partner.name or "").split())
                    email["email_to"] = [
                        formataddr((name, address))
                        for address in email["email_to_normalized"]
                    ]
        return emails

    def _postprocess_sent_message(
        self, success_pids, success_emails, failure_reason=False, failure_type=None
    ):
        # Copy the outcome onto the recipient lines now, in the queue's own
        # transaction: sent mails may be deleted right after (auto_delete).
        recipients = self.customer_message_recipient_id.sudo()
        if recipients:
            # sudo: the queue runs as whoever sends it; the line is ours.
            if failure_type:
                labels = dict(
                    self._fields["failure_type"]._description_selection(self.env)
                )
                recipients._set_delivery_result(
                    failure_reason or labels.get(failure_type) or failure_type
                )
            else:
                recipients._set_delivery_result()
                for mail in self.filtered("customer_message_recipient_id"):
                    mail.customer_message_recipient_id.sudo().email_reference = (
                        mail.message_id
                    )
        return super()._postprocess_sent_message(
            success_pids,
            success_emails,
            failure_reason=failure_reason,
            failure_type=failure_type,
        )

    def write(self, vals):
        result = super().write(vals)
        if vals.get("state") == "cancel":
            # an email cancelled in Odoo's queue cancels its line
            self.customer_message_recipient_id._cancel_from_queue()
        return result

    # ------------------------------------------------------------------
    # SENDING THE EMAILS OF CUSTOMER MESSAGES
    # ------------------------------------------------------------------

    def _send_customer_messages(self, auto_commit=False, hand_over=False):
        """Send these queued emails, each at most once, chunk by chunk.

        Each chunk is claimed first (state Exception with an "interrupted"
        reason, committed with auto_commit), so that no other worker or
        retry takes it, then sent over one SMTP session per mail server with
        Odoo's own email builder and sender, and its outcome written back in
        a few queries (the recipient lines follow through
        :meth:`_postprocess_sent_message`), then committed. A worker dying
        in between leaves its chunk claimed; see :meth:`_settle_stale_claims`.

        With auto_commit and more than one chunk, the sending crons are
        triggered: other cron workers claim chunks of them too.

        :param bool auto_commit: commit the claim and the outcome of each
            chunk (crons; never in a caller's transaction)
        :param bool hand_over: leave the last chunks queued for those other
            workers (the caller has more to prepare meanwhile)
        """
        IrMailServer = self.env["ir.mail_server"]
        if IrMailServer._disable_send():
            return
        IrCron = self.env["ir.cron"]
        chunks = list(split_every(SEND_CHUNK_SIZE, self.ids))
        if (
            auto_commit
            and len(chunks) > 1
            and self._trigger_sending_crons()
            and hand_over
        ):
            chunks = chunks[:-HAND_OVER_CHUNKS]
        for ids in chunks:
            claimed = self.browse(ids)._claim_for_sending()
            if auto_commit:
                IrCron._commit_progress()  # commits (the progress is per line)
            if claimed:
                claimed._deliver_claimed()
                if auto_commit:
                    IrCron._commit_progress()

    @api.model
    def _trigger_sending_crons(self):
        """Wake the sending crons up (but the one running this), so that
        other cron workers claim chunks too. The module ships one; each
        active copy of it is one more worker.

        :return: the crons triggered
        """
        # sudo: crons are triggered, whoever sends; copies of the shipped
        # cron run the same code
        shipped = self.env.ref(
            "customer_messages.ir_cron_customer_message_send", raise_if_not_found=False
        )
        if not shipped:
            return self.env["ir.cron"]
        crons = (
            self.env["ir.cron"]
            .sudo()
            .search(
                [
                    ("model_id", "=", shipped.sudo().model_id.id),
                    ("code", "=", shipped.sudo().code),
                    ("id", "!=", self.env.context.get("cron_id", False)),
                ]
            )
        )
        for cron in crons:
            cron._trigger()
        return crons

    def _claim_for_sending(self):
        """Lock the ones still outgoing, skipping those another transaction
        holds, and mark them as being sent."""
        self.flush_recordset(["state"])
        try:
            with self.env.cr.savepoint():
                # try_lock_for_update() would do, but it logs the expected
                # conflict between workers below as an error ("bad query")
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM mail_mail "
                        "WHERE id = ANY(%s) AND state = 'outgoing' "
                        "ORDER BY id FOR UPDATE SKIP LOCKED",
                        self.ids,
                    ),
                    log_exceptions=False,
                )
                claimed = self.browse(row[0] for row in self.env.cr.fetchall())
        except psycopg2.errors.SerializationFailure:
            # another worker claimed some of them since this transaction
            # began: they are its own
            return self.browse()
        claimed.write(
            {
                "state": "exception",
                "failure_type": "unknown",
                "failure_reason": self.env._(
                    "Interrupted while sending: the email may have been "
                    "delivered, so it was not sent again."
                ),
            }
        )
        return claimed

    def _deliver_claimed(self):
        """Send claimed emails over one SMTP session per mail server and
        sender, grouped as Odoo's ``mail.mail.send`` groups them
        (``_split_by_mail_configuration``, then ``ir.mail_server._connect__``)."""
        IrMailServer = self.env["ir.mail_server"]
        for (
            server_id,
            alias_domain_id,
            smtp_from,
            ids,
        ) in self._split_by_mail_configuration():
            mails = self.browse(ids)
            mail_server = IrMailServer.browse(server_id)
            if mail_server.owner_user_id:
                # a personal mail server: Odoo throttles and reschedules
                mails.write({"state": "outgoing"})
                mails.send()
                continue
            try:
                smtp_session = IrMailServer._connect__(
                    mail_server_id=server_id, smtp_from=smtp_from
                )
            except Exception as error:  # noqa: BLE001 - the emails' status
                _logger.warning("Customer messages: no SMTP connection: %s", error)
                reason = exception_to_unicode(error)
                mails._set_send_results(
                    {mail.id: ("mail_smtp", reason) for mail in mails}
                )
                continue
            try:
                outcome = mails._deliver_over(
                    smtp_session, mail_server, alias_domain_id
                )
            finally:
                try:
                    smtp_session.quit()
                except smtplib.SMTPException:
                    _logger.info("Customer messages: SMTP session already closed")
            mails._set_send_results(outcome)

    def _deliver_over(self, smtp_session, mail_server, alias_domain_id):
        """Build and send each email over the session.

        Mirrors the inner loop of Odoo's ``mail.mail._send`` (mail/models/
        mail_mail.py, Odoo 19.0): the sender normalised, each email of
        ``_prepare_outgoing_list`` built by ``ir.mail_server._build_email__``
        and sent by ``send_email`` in the alias domain's context, its bounce
        address from the email's Return-Path. It differs in what comes
        around it: no per-email state write or commit (the chunk was
        claimed), the outcome returned for ``_set_send_results``. Check it
        against that method when upgrading Odoo.

        :return: {mail id: None when sent, else (failure type, reason)};
            emails not tried because the session broke are left out
        """
        IrMailServer = self.env["ir.mail_server"]
        alias_domain = self.env["mail.alias.domain"].sudo().browse(alias_domain_id)
        outcome = {}
        for mail in self:
            if getattr(smtp_session, "sock", True) is None:
                # the server closed the session (a 421 answer...): the rest
                # were not tried and stay queued
                break
            try:
                # as Odoo: an address formatted twice is taken apart again
                emails_from = email_split_and_format_normalize(mail.email_from)
                email_from = emails_from[0] if emails_from else mail.email_from
                for email in mail._prepare_outgoing_list(mail_server=mail_server):
                    context = {
                        "send_validated_to": email.pop("email_to_normalized", [])
                    }
                    if alias_domain:
                        context.update(
                            domain_notifications_email=alias_domain.default_from_email,
                            domain_bounce_address=email["headers"].get("Return-Path")
                            or alias_domain.bounce_email,
                        )
                    sender = IrMailServer.with_context(**context)
                    message = sender._build_email__(
                        email_from=email_from,
                        email_to=email["email_to"],
                        email_cc=email["email_cc"],
                        reply_to=email["reply_to"],
                        subject=email["subject"],
                        body=email["body"],
                        body_alternative=email["body_alternative"],
                        subtype="html",
                        subtype_alternative="plain",
                        attachments=email["attachments"],
                        message_id=email["message_id"],
                        references=email["references"],
                        object_id=email["object_id"],
                        headers=email["headers"],
                    )
                    sender.send_email(
                        message,
                        mail_server_id=mail.mail_server_id.id,
                        smtp_session=smtp_session,
                    )
                outcome[mail.id] = None
            except smtplib.SMTPServerDisconnected as error:
                # the connection broke: this email may or may not have left,
                # the ones after it were not tried and stay queued
                outcome[mail.id] = ("mail_smtp", exception_to_unicode(error))
                break
            except psycopg2.Error:
                # the transaction is lost: the chunk stays claimed
                raise
            except AssertionError as error:
                # Odoo's checks of the sender and recipient addresses
                outcome[mail.id] = self._get_address_failure(error)
            except Exception as error:  # noqa: BLE001 - the email's status
                _logger.info("Customer messages: email %s failed: %s", mail.id, error)
                outcome[mail.id] = ("unknown", exception_to_unicode(error))
        return outcome

    @api.model
    def _get_address_failure(self, error):
        """(failure type, reason) of an address refused by Odoo's checks."""
        IrMailServer = self.env["ir.mail_server"]
        code = error.args[0] if error.args else str(error)
        failure_type = {
            IrMailServer.NO_VALID_RECIPIENT: "mail_email_invalid",
            IrMailServer.NO_VALID_FROM: "mail_from_invalid",
            IrMailServer.NO_FOUND_FROM: "mail_from_missing",
            IrMailServer.NO_FOUND_SMTP_FROM: "mail_from_missing",
        }.get(code, "unknown")
        return failure_type, str(error.args[-1]) if error.args else str(error)

    def _set_send_results(self, outcome):
        """Write what happened to each email and to its recipient line: sent
        ones in one go, failed ones grouped by reason, untried ones queued
        again."""
        sent = self.browse(
            mail_id for mail_id, failure in outcome.items() if not failure
        )
        failed = defaultdict(list)
        for mail_id, failure in outcome.items():
            if failure:
                failed[failure].append(mail_id)
        untried = self - self.browse(outcome)
        if untried:
            untried.write(
                {"state": "outgoing", "failure_type": False, "failure_reason": False}
            )
        if sent:
            sent.write(
                {"state": "sent", "failure_type": False, "failure_reason": False}
            )
            # deletes the ones to auto delete, in one go
            sent._postprocess_sent_message(success_pids=[], success_emails=[])
        for (failure_type, reason), mail_ids in failed.items():
            mails = self.browse(mail_ids)
            mails.write(
                {
                    "state": "exception",
                    "failure_type": failure_type,
                    "failure_reason": reason,
                }
            )
            mails._postprocess_sent_message(
                success_pids=[],
                success_emails=[],
                failure_reason=reason,
                failure_type=failure_type,
            )

    @api.model
    def _settle_stale_claims(self):
        """Emails claimed for sending long ago and never settled: their
        worker died while sending. They may have been delivered, so their
        lines get the failure reason and "Retry failed" is left to staff."""
        stale = self.search(
            Domain("customer_message_recipient_id.state", "=", "processing")
            & Domain("state", "=", "exception")
            & Domain("write_date", "<", fields.Datetime.now() - CLAIM_TIMEOUT)
        ).filtered(
            # not an email of an earlier try of a line sent again
            lambda mail: mail.customer_message_recipient_id.mail_mail_id == mail
        )
        for reason, mails in stale.grouped("failure_reason").items():
            mails.customer_message_recipient_id._set_delivery_result(reason)
        return stale
