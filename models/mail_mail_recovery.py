from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

# A claim whose worker is still connected but has not settled it after this
# long was left behind by an error in that worker: it is released.
CLAIM_TIMEOUT = timedelta(hours=1)


class MailMail(models.Model):
    """After a crash: the emails of customer messages that a dead worker had
    claimed (see mail_mail_sending.py) go out again, and the lines of those
    it had settled follow them."""

    _inherit = "mail.mail"

    @api.model
    def _recover_claims(self):
        """What workers that died (killed, PostgreSQL restarted) left: the
        emails they had claimed and not settled go out again (at most the
        one in flight per worker may then arrive twice), and the lines of the
        emails they settled follow them. A worker is alive while its
        PostgreSQL backend is connected; a claim an hour old is released
        even so (an error in that worker left it).

        :return: the messages whose lines changed
        """
        self.env.cr.execute(
            SQL(
                "SELECT id FROM mail_mail WHERE customer_message_claim_pid > 0 "
                "AND (customer_message_claim_pid NOT IN "
                "(SELECT pid FROM pg_stat_activity) OR "
                "customer_message_claim_date < %s)",
                fields.Datetime.now() - CLAIM_TIMEOUT,
            )
        )
        left = self.browse(row[0] for row in self.env.cr.fetchall())
        unsettled = left.filtered("customer_message_claim_date")
        unsettled.write(
            {
                "state": "outgoing",
                "failure_type": False,
                "failure_reason": False,
                "customer_message_claim_pid": 0,
                "customer_message_claim_date": False,
            }
        )
        settled = left - unsettled
        messages = settled.customer_message_recipient_id.message_id
        settled._apply_outcome(
            {
                mail.id: ("sent",)
                if mail.state == "sent"
                else (
                    "failed",
                    mail.failure_type or "unknown",
                    mail.failure_reason,
                    "",
                )
                for mail in settled
                if mail.state in ("sent", "exception")
            }
        )
        return messages
