from odoo import models
from odoo.tools import html2plaintext


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    def _routing_handle_bounce(self, email_message, message_dict):
        # A bounce of one of our emails turns its line into Sent with error;
        # sent emails are deleted, so the line is found by its Message-Id.
        result = super()._routing_handle_bounce(email_message, message_dict)
        references = message_dict.get("bounced_msg_ids")
        if references:
            # sudo: bounces are processed by the mail gateway, as whoever
            # fetches the mail; only lines of the bounced email are changed
            recipients = (
                self.env["customer.message.recipient"]
                .sudo()
                .search([("email_reference", "in", references)])
            )
            if recipients:
                details = html2plaintext(message_dict.get("body") or "").strip()
                recipients._set_delivery_result(
                    self.env._("Bounced: %(details)s", details=details[:1000])
                )
        return result
