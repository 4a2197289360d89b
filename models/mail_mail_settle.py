import math
from datetime import datetime, timedelta, timezone

from odoo import api, fields, models
from odoo.tools import SQL

from ..tools import delivery


class MailMail(models.Model):
    """The outcomes of the module's sending loop (mail_mail_sending.py): each
    email is settled right after the server's answer (``_settle``: sent,
    failed for good, or deferred to a later try, committed at once), then
    the ORM and the recipient lines follow per chunk (``_apply_outcome``)."""

    _inherit = "mail.mail"

    def _settle(self, answer, retry, settle_cr=None):
        """Record the server's answer for this email at once: Sent;
        Exception with the reason (a permanent answer, or a temporary one
        past the lifetime); or Outgoing again, to be tried after the retry
        delay. With settle_cr, it is committed there right away.

        :param answer: None (accepted), an exception, or (failure type,
            reason) of Odoo's address checks
        :return: ("sent",), ("failed", failure type, reason, bounce) or
            ("deferred", answer, next try); bounce: "hard" for an address
            refused for good, "soft" for one refused for now until the
            lifetime, "" otherwise
        """
        self.ensure_one()
        now = fields.Datetime.now()
        if answer is None:
            outcome = ("sent",)
            values = SQL("state = 'sent', failure_type = NULL, failure_reason = NULL")
        else:
            if isinstance(answer, tuple):
                temporary, (failure_type, reason), bounce = False, answer, ""
            else:
                temporary, reason = delivery.classify(answer)
                failure_type = "mail_smtp"
                bounce = delivery.recipient_refusal(answer) or ""
                if delivery.sender_fault(answer):
                    # the sending domain's fault: said so, not the address's
                    reason = self._describe_sender_fault(reason, self.email_from)
                    bounce = "sender"
            attempts = self.customer_message_attempts + 1
            lifetime = retry["retry_lifetime"]
            expired = self.create_date + timedelta(seconds=lifetime)
            if temporary and lifetime > 0 and now < expired:
                next_try = now + delivery.retry_delay(
                    attempts, retry["retry_first_delay"], retry["retry_max_delay"]
                )
                outcome = ("deferred", reason, next_try)
                values = SQL(
                    "state = 'outgoing', scheduled_date = %s, failure_reason = %s",
                    next_try,
                    reason,
                )
            else:
                if temporary:
                    reason = self.env._(
                        "Gave up after %(count)s attempts: %(answer)s",
                        count=attempts,
                        answer=reason,
                    )
                outcome = ("failed", failure_type, reason, bounce)
                values = SQL(
                    "state = 'exception', failure_type = %s, failure_reason = %s",
                    failure_type,
                    reason,
                )
        # one statement, committed right after the answer: this email is no
        # longer in doubt (the ORM follows in _apply_outcome)
        self.flush_recordset()
        (settle_cr or self.env.cr).execute(
            SQL(
                # the claim date goes, the worker stays until its lines follow
                "UPDATE mail_mail SET %s, customer_message_claim_date = NULL, "
                "customer_message_attempts = COALESCE(customer_message_attempts, 0) "
                "+ %s "
                "WHERE id = %s",
                values,
                int(outcome[0] != "sent"),
                self.id,
            )
        )
        if settle_cr:
            settle_cr.commit()
        else:
            self.invalidate_recordset()
        return outcome

    def _apply_outcome(self, outcome):
        """The ORM follows the settled emails: their lines get the result
        (through _postprocess_sent_message for sent and failed ones), sent
        emails are deleted, deferred lines show their next try, held ones
        wait for the slot of their sending limit; the emails not tried are
        released."""
        self.invalidate_recordset()
        held = {}
        for mail_id, result in list(outcome.items()):
            if result[0] == "held":
                # the first second the slot allows
                until = datetime.fromtimestamp(math.ceil(result[1]), tz=timezone.utc)
                held.setdefault(until.replace(tzinfo=None), []).append(mail_id)
                del outcome[mail_id]
        for until, mail_ids in held.items():
            self.browse(mail_ids).write(
                {
                    "state": "outgoing",
                    "failure_type": False,
                    "failure_reason": False,
                    "scheduled_date": until,
                    "customer_message_claim_date": False,
                }
            )
            # sudo: the line follows its email, whoever sends
            self.browse(mail_ids).customer_message_recipient_id.sudo().write(
                {
                    "last_answer": self.env._("Waiting for a sending limit"),
                    "next_try_date": until,
                }
            )
        untried = (
            self
            - self.browse(outcome)
            - self.browse(
                [mail_id for mail_ids in held.values() for mail_id in mail_ids]
            )
        )
        if untried:
            untried.write(
                {
                    "state": "outgoing",
                    "failure_type": False,
                    "failure_reason": False,
                    "customer_message_claim_date": False,
                }
            )
        # the lines follow: the emails are nobody's any more
        self.write({"customer_message_claim_pid": 0})
        by_kind = {"sent": [], "failed": {}, "deferred": []}
        for mail_id, result in outcome.items():
            if result[0] == "failed":
                by_kind["failed"].setdefault(result[1:], []).append(mail_id)
            else:
                by_kind[result[0]].append(mail_id)
        for (_failure_type, reason, bounce), mail_ids in by_kind["failed"].items():
            if bounce in ("hard", "soft"):
                self.browse(mail_ids).recipient_ids._note_email_bounce(
                    reason, hard=bounce == "hard"
                )
            if bounce:
                self.browse(mail_ids).customer_message_recipient_id._set_bounce_kind(
                    bounce
                )
        if by_kind["sent"]:
            sent = self.browse(by_kind["sent"])
            sent.recipient_ids._note_email_accepted()
            # deletes the ones to auto delete, in one go
            sent._postprocess_sent_message(success_pids=[], success_emails=[])
        for (failure_type, reason, _bounce), mail_ids in by_kind["failed"].items():
            self.browse(mail_ids)._postprocess_sent_message(
                success_pids=[],
                success_emails=[],
                failure_reason=reason,
                failure_type=failure_type,
            )
        deferred = self.browse(by_kind["deferred"])
        for mail in deferred:
            _kind, answer, next_try = outcome[mail.id]
            # sudo: the line follows its email, whoever sends
            mail.customer_message_recipient_id.sudo().write(
                {
                    "delivery_attempts": mail.customer_message_attempts,
                    "last_answer": answer,
                    "next_try_date": next_try,
                }
            )
        next_tries = deferred.mapped("scheduled_date") + list(held)
        if next_tries:
            self._trigger_sending_crons(at=min(next_tries))

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
