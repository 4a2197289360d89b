import logging
import smtplib
from datetime import timedelta

import psycopg2.errors

from odoo import api, fields, models
from odoo.tools import SQL, split_every
from odoo.tools.mail import email_split_and_format_normalize

from ..tools import delivery, time_box
from .customer_message_throttle import Pacer

_logger = logging.getLogger(__name__)

# Emails of customer messages claimed at once and sent over one SMTP session:
# small enough for two workers to share a batch of them
SEND_CHUNK_SIZE = 100
# Chunks a worker with more to prepare leaves to the sending cron
HAND_OVER_CHUNKS = 2


class MailMail(models.Model):
    """The module's sending loop for the emails of customer messages, the
    way a mail system delivers: each email is claimed by one worker, sent,
    and settled right after the server's answer (sent, failed for good, or
    deferred to a later try), so that a worker killed while sending leaves
    at most the one email in flight in doubt; the emails it had claimed and
    not tried go out again by themselves.

    Read top to bottom: the entry (``_send_queued_in_chunks``), the claim
    of a chunk, its SMTP session(s) and the send of each email; each answer
    is settled, and the lines follow, in mail_mail_settle.py."""

    _inherit = "mail.mail"

    customer_message_claim_pid = fields.Integer(
        string="Claimed by",
        copy=False,
        index="btree_not_null",
        help="The PostgreSQL backend of the worker sending it.",
    )
    customer_message_claim_date = fields.Datetime(string="Claimed on", copy=False)
    customer_message_attempts = fields.Integer(string="Delivery attempts", copy=False)

    def _send_queued_in_chunks(self, auto_commit=False, hand_over=False):
        """Send these queued emails, chunk by chunk: each chunk is claimed
        (committed with auto_commit), so that no other worker takes it, then
        sent over one SMTP session per mail server with Odoo's own email
        builder and sender, each email settled (and committed) right after
        the server's answer; the recipient lines follow per chunk.

        With auto_commit and more than one chunk, the sending crons are
        triggered: other cron workers claim chunks of them too.

        :param bool auto_commit: commit the claims and each email's outcome
            (crons; never in a caller's transaction)
        :param bool hand_over: leave the last chunks queued for those other
            workers (the caller has more to prepare meanwhile)
        :return: whether the run stopped before the end: a sending limit
            holds the rest until its slots, or the cron worker's time is up
            (see tools/time_box.py; the rest goes in the next run)
        """
        if self.env["ir.mail_server"]._disable_send():
            return False
        chunks = list(split_every(SEND_CHUNK_SIZE, self.ids))
        if (
            auto_commit
            and len(chunks) > 1
            and self._trigger_sending_crons()
            and hand_over
        ):
            chunks = chunks[:-HAND_OVER_CHUNKS]
        retry = self._get_retry_settings()
        # each email's outcome is committed on a cursor of its own: a commit
        # of this one would empty the ORM cache, email after email
        settle_cr = self.env.registry.cursor() if auto_commit else None
        # waiting for a sending limit's slot, in crons only
        pacer = Pacer(self.env, settle_cr or self.env.cr, wait=auto_commit)
        try:
            for ids in chunks:
                if time_box.expired(self.env):
                    break  # the rest goes in the next run
                claimed = self.browse(ids)._claim_for_sending()
                if auto_commit:
                    self.env["ir.cron"]._commit_progress()
                if claimed:
                    claimed._deliver_claimed(retry, settle_cr, pacer)
                    if auto_commit:
                        self.env["ir.cron"]._commit_progress()
                if pacer.stopped:
                    break
        finally:
            if settle_cr:
                settle_cr.close()
        return pacer.stopped or time_box.expired(self.env)

    @api.model
    def _get_retry_settings(self):
        params = self.env["ir.config_parameter"].sudo()
        return {
            name.rsplit(".", 1)[1]: int(params.get_param(name, default))
            for name, default in (
                delivery.RETRY_FIRST_DELAY,
                delivery.RETRY_MAX_DELAY,
                delivery.RETRY_LIFETIME,
            )
        }

    @api.model
    def _trigger_sending_crons(self, at=None):
        """Wake the sending crons up, so that other cron workers claim
        chunks too (now: all but the one running this), or for the next try
        of deferred emails (at: all of them). The module ships one; each
        active copy of it (same code) is one more worker.

        :return: the crons triggered
        """
        # sudo: crons are triggered, whoever sends
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
                    ("id", "!=", not at and self.env.context.get("cron_id", False)),
                ]
            )
        )
        for cron in crons:
            cron._trigger(at=at)
        return crons

    @api.model
    def _trigger_next_try(self):
        """At the end of a run, wake the sending crons up for the earliest
        deferred email (a trigger made during the run may be cleared with
        the run's own)."""
        self.env.cr.execute(
            "SELECT min(scheduled_date) FROM mail_mail "
            "WHERE customer_message_recipient_id IS NOT NULL AND state = 'outgoing'"
        )
        next_try = self.env.cr.fetchone()[0]
        if next_try:
            self._trigger_sending_crons(
                at=max(next_try, fields.Datetime.now() + timedelta(seconds=1))
            )

    def _claim_for_sending(self):
        """Lock the ones still outgoing, skipping those another transaction
        holds, and mark them as being sent by this worker."""
        self.flush_recordset(["state"])
        try:
            with self.env.cr.savepoint():
                # try_lock_for_update() would do, but it logs the expected
                # conflict between workers below as an error ("bad query")
                self.env.cr.execute(
                    SQL(
                        # an email a worker settled but still holds (its
                        # lines follow at the end of its chunk) is its own
                        "SELECT id FROM mail_mail "
                        "WHERE id = ANY(%s) AND state = 'outgoing' "
                        "AND COALESCE(customer_message_claim_pid, 0) = 0 "
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
        # the gate of delivery (customer_message_claim.py): emails whose
        # customer may no longer receive them are cancelled, not sent
        claimed = claimed._recheck_exclusions()
        self.env.cr.execute("SELECT pg_backend_pid()")
        claimed.write(
            {
                "state": "exception",
                "failure_type": "unknown",
                "failure_reason": self.env._("Being sent"),
                "customer_message_claim_pid": self.env.cr.fetchone()[0],
                "customer_message_claim_date": fields.Datetime.now(),
            }
        )
        claimed.flush_recordset()  # _settle writes over it in SQL
        return claimed

    def _deliver_claimed(self, retry, settle_cr=None, pacer=None):
        """Send claimed emails over one SMTP session per mail server and
        sender, grouped as Odoo's ``mail.mail.send`` groups them
        (``_split_by_mail_configuration``, then ``ir.mail_server._connect__``).
        A server that refuses the connection hands over to the next one
        allowed for the sender; when none answers, the emails wait. The
        sending limits of the server that takes them pace them (pacer)."""
        IrMailServer = self.env["ir.mail_server"]
        pacer = pacer or Pacer(self.env, settle_cr or self.env.cr, wait=False)
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
                mails.write({"state": "outgoing", "customer_message_claim_pid": 0})
                mails.send()
                continue
            smtp_session, mail_server, error = self._connect_with_failover(
                mail_server, smtp_from
            )
            outcome = {}
            if smtp_session is None:
                _logger.warning("Customer messages: no SMTP connection: %s", error)
                for mail in mails:
                    outcome[mail.id] = mail._settle(error, retry, settle_cr)
            else:
                outcome = mails._deliver_in_sessions(
                    smtp_session,
                    mail_server,
                    smtp_from,
                    alias_domain_id,
                    retry,
                    settle_cr,
                    pacer,
                )
            if settle_cr:
                # a snapshot that sees the outcomes committed on settle_cr
                self.env.cr.commit()  # pylint: disable=invalid-commit
            mails._apply_outcome(outcome)

    def _deliver_in_sessions(
        self,
        smtp_session,
        mail_server,
        smtp_from,
        alias_domain_id,
        retry,
        settle_cr,
        pacer,
    ):
        """Send these emails over the session, then over new sessions of the
        same server (or the next one allowed) after each N emails, N being
        the server's Emails per connection (customer_messages_session_limit;
        0: all of them over one session). A session that broke or a worker
        whose time is up ends the run: the emails not tried are released.

        :return: the outcome of _deliver_over for the emails tried
        """
        limit = mail_server.customer_messages_session_limit or len(self)
        outcome = {}
        remaining = self
        while smtp_session is not None:
            part, remaining = remaining[:limit], remaining[limit:]
            try:
                done = part._deliver_over(
                    smtp_session, mail_server, alias_domain_id, retry, settle_cr, pacer
                )
            finally:
                try:
                    smtp_session.quit()
                except smtplib.SMTPException:
                    _logger.info("Customer messages: SMTP session already closed")
            outcome.update(done)
            if not remaining or len(done) < len(part):
                break
            smtp_session, mail_server, error = self._connect_with_failover(
                mail_server, smtp_from
            )
            if smtp_session is None:
                _logger.warning("Customer messages: no SMTP connection: %s", error)
                for mail in remaining:
                    outcome[mail.id] = mail._settle(error, retry, settle_cr)
            else:
                limit = mail_server.customer_messages_session_limit or len(remaining)
        return outcome

    @api.model
    def _connect_with_failover(self, mail_server, smtp_from):
        """(session, server, None), or (None, None, the last error) when no
        server allowed for the sender accepts a connection: the mail's own
        server (or Odoo's choice) first, then the others by sequence."""
        IrMailServer = self.env["ir.mail_server"]
        candidates = [mail_server] if mail_server else []
        # sudo: the servers are only tried, as Odoo's own choice does
        public = IrMailServer.sudo().search(
            IrMailServer._find_mail_server_allowed_domain(), order="sequence, id"
        )
        for server in public:
            if server not in candidates:
                candidates.append(server)
        error = None
        for index, server in enumerate(candidates or [IrMailServer]):
            # Odoo's own choice is always tried; the others if the sender
            # may go through them
            if index and not server._match_from_filter(smtp_from, server.from_filter):
                continue
            try:
                session = IrMailServer._connect__(
                    mail_server_id=server.id or None, smtp_from=smtp_from
                )
            except Exception as connect_error:  # noqa: BLE001 - try the next one
                error = connect_error
                continue
            return session, server, None
        return None, None, error

    def _deliver_over(
        self, smtp_session, mail_server, alias_domain_id, retry, settle_cr, pacer
    ):
        """Build and send each email over the session, settling each one
        right after the server's answer.

        Mirrors the inner loop of Odoo's ``mail.mail._send`` (mail/models/
        mail_mail.py, Odoo 19.0): the sender normalised, each email of
        ``_prepare_outgoing_list`` built by ``ir.mail_server._build_email__``
        and sent by ``send_email`` in the alias domain's context, its bounce
        address from the email's Return-Path. It differs in what comes
        around it: the chunk was claimed, each email first takes a slot of
        the sending limits (or is held until its slot), each outcome is
        settled by ``_settle`` (temporary answers are tried again later),
        the lines follow in ``_apply_outcome``. Check it against that method
        when upgrading Odoo.

        :return: {mail id: outcome of _settle, or ("held", until)}; emails
            not tried because the session broke are left out
        """
        IrMailServer = self.env["ir.mail_server"]
        alias_domain = self.env["mail.alias.domain"].sudo().browse(alias_domain_id)
        outcome = {}
        for mail in self:
            if getattr(smtp_session, "sock", True) is None:
                # the server closed the session (a 421 answer...): the rest
                # were not tried and are released
                break
            if time_box.expired(self.env):
                # the cron worker's time is up: the rest are released for
                # the next run (a slow server must not get the worker killed)
                break
            held_until = pacer.take_slot(mail, mail_server)
            if held_until:
                outcome[mail.id] = ("held", held_until)
                continue
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
                outcome[mail.id] = mail._settle(None, retry, settle_cr)
            except psycopg2.Error:
                # the transaction is lost: what is claimed is released later
                raise
            except AssertionError as error:
                # Odoo's checks of the sender and recipient addresses: final
                outcome[mail.id] = mail._settle(
                    self._get_address_failure(error), retry, settle_cr
                )
            except Exception as error:  # noqa: BLE001 - the email's status
                _logger.info("Customer messages: email %s: %s", mail.id, error)
                outcome[mail.id] = mail._settle(error, retry, settle_cr)
                if isinstance(error, smtplib.SMTPServerDisconnected):
                    break  # the rest were not tried
        return outcome
