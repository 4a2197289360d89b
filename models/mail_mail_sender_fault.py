from odoo import api, models
from odoo.tools.mail import email_normalize, email_split


class MailMail(models.Model):
    """A receiving server that refuses the sender (an SMTP answer or a
    delivery report with a 5.7.x status: the sending domain's SPF, DKIM or
    DMARC, its policy) refuses every customer alike: the customer's address
    is not at fault. The line fails with a reason saying so and what to
    fix; the address's bounce count does not change (see tools/delivery.py
    sender_fault, mail.mail._settle and mail.thread._routing_handle_bounce)."""

    _inherit = "mail.mail"

    @api.model
    def _describe_sender_fault(self, answer, email_from=None):
        """The reason of a line refused because of the sender."""
        addresses = email_split(email_from or "")
        address = email_normalize(addresses[0]) if addresses else False
        domain = address.rpartition("@")[2] if address else ""
        return self.env._(
            "Refused because of the sender, not the customer's address "
            "(%(answer)s): the receiving server does not accept emails of the "
            "sending domain %(domain)s as they are authenticated. Fix the SPF, "
            "DKIM and DMARC records of that domain (or the sending server), "
            "then use Retry failed.",
            answer=answer,
            domain=domain or self.env._("(unknown)"),
        )
