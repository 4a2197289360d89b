import email
import email.policy

from odoo import api, fields, models
from odoo.tools import consteq
from odoo.tools.misc import hmac

# The header naming the line of each email of a customer message: complaint
# reports (ARF) often redact the recipient, and some drop the Message-Id;
# this header comes back with the returned email (see
# customer.message.complaint). Signed: a forged report cannot name a line.
LINE_HEADER = "X-Customer-Message-Line"
LINE_HEADER_SCOPE = "customer_messages-line-header"


class CustomerMessageRecipient(models.Model):
    """What the mailbox providers' reports say of a line: how it bounced
    (bounce_kind, by tools/delivery.py STATUS_TABLE, counted by the circuit
    breaker of bulk categories) and the line an email returned in a report
    belongs to (by our header, else by its Message-Id)."""

    _inherit = "customer.message.recipient"

    bounce_kind = fields.Selection(
        selection=[
            ("hard", "Hard bounce"),
            ("soft", "Soft bounce"),
            ("sender", "Refused because of the sender"),
        ],
        string="Bounce",
        readonly=True,
        copy=False,
        help="How the email of this line bounced, while sending or by a "
        "delivery report received later.",
    )

    @api.model
    def _hook_feedback_report(self, email_message):
        """Extension point of the bounce handler: whether ``email_message``
        (what Odoo's gateway took for a bounce) is a report another part
        handled (the consent package's complaint reports, ARF); then it is
        no bounce."""
        return False

    def _set_bounce_kind(self, kind):
        """Record how these lines bounced; this worker reads the rates of
        the circuit breaker again at its next claim."""
        # sudo: the line follows its email, whoever sends
        self.sudo().write({"bounce_kind": kind})
        self.env.cr.cache.pop("customer_messages_breaker", None)

    def _get_line_header(self):
        """{LINE_HEADER: "<line id>-<signature>"} for the email of this line."""
        self.ensure_one()
        # su: the database secret is read by the system
        token = hmac(self.env(su=True), LINE_HEADER_SCOPE, self.id)[:32]
        return {LINE_HEADER: f"{self.id}-{token}"}

    def _find_by_returned_headers(self, returned):
        """The line (sudo) of an email returned in a report, by our signed
        header, else by its Message-Id; empty when it is none of ours.

        :param returned: the returned email (email.message.Message)
        """
        # sudo: the reports are read by the mail gateway; the header is
        # signed, the Message-Id is random
        Recipient = self.sudo()
        for value in returned.get_all(LINE_HEADER) or ():
            line_id = str(value).strip().partition("-")[0]
            if line_id.isdigit():
                line = Recipient.browse(int(line_id)).exists()
                if line and consteq(
                    line._get_line_header()[LINE_HEADER].encode(),
                    str(value).strip().encode(),
                ):
                    return line
        references = [
            str(value).strip() for value in returned.get_all("Message-Id") or ()
        ]
        if references:
            return Recipient.search([("email_reference", "in", references)], limit=1)
        return Recipient

    def _get_returned_email(self, email_message):
        """The email a report (ARF or DSN) returns, whole (message/rfc822)
        or its headers only (text/rfc822-headers), or None."""
        for part in email_message.walk():
            content_type = part.get_content_type()
            if content_type == "message/rfc822":
                returned = part.get_payload()
                return returned[0] if isinstance(returned, list) else returned
            if content_type == "text/rfc822-headers":
                return email.message_from_bytes(
                    part.get_payload(decode=True) or b"", policy=email.policy.SMTP
                )
        return None
