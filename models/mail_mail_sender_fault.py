from odoo import api, models
from odoo.tools.mail import email_normalize, email_split

from ..tools import delivery


class MailMail(models.Model):
    """A receiving server that refuses the sender (an SMTP answer or a
    delivery report with a 5.7.x status: the sending domain's SPF, DKIM or
    DMARC, its policy) refuses every customer alike: the customer's address
    is not at fault. The line fails with a reason saying so, the cause and
    what to fix (tools/delivery.py STATUS_TABLE); the address's bounce count
    does not change (see tools/delivery.py sender_fault, mail.mail._settle
    and mail.thread._routing_handle_bounce)."""

    _inherit = "mail.mail"

    @api.model
    def _describe_sender_fault(self, answer, email_from=None, code=None):
        """The reason of a line refused because of the sender.

        :param answer: the server's answer (or the delivery report's)
        :param code: its enhanced status code, found in the answer if None
        """
        addresses = email_split(email_from or "")
        address = email_normalize(addresses[0]) if addresses else False
        domain = address.rpartition("@")[2] if address else ""
        code = code or delivery.sender_fault(answer) or ""
        _kind, cause, fix = delivery.classify_status(code) or delivery.classify_status(
            "5.7.0"
        )
        return self.env._(
            "Refused because of the sender, not the customer's address "
            "(%(answer)s): %(cause)s. The receiving server does not accept "
            "emails of the sending domain %(domain)s as they are sent. To fix: "
            "%(fix)s (SPF, DKIM and DMARC records of that domain, or the sending "
            "server), then use Retry failed.",
            answer=answer,
            cause=self.env._(cause),
            fix=self.env._(fix),
            domain=domain or self.env._("(unknown)"),
        )
