from odoo import models
from odoo.tools import html2plaintext


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    def _routing_handle_bounce(self, email_message, message_dict):
        # A bounce of one of our emails turns its line into Sent with error;
        # sent emails are deleted, so the line is found by its Message-Id.
        # Odoo counts the bounce on the contact; a permanent one (a 5.x.x
        # status in the delivery report) suspends the address at once.
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
                # the contact the email went to (a routed category's
                # invoice contact), else the customer
                recipients.mapped(
                    lambda line: line.address_partner_id or line.partner_id
                )._note_email_bounce(
                    details.splitlines()[0] if details else self.env._("Bounced"),
                    hard=self._is_permanent_bounce(email_message),
                    counted=True,
                )
        return result

    def _is_permanent_bounce(self, email_message):
        """Whether the delivery report (RFC 3464) says the failure is
        permanent: a Status of class 5 for a recipient."""
        for part in email_message.walk():
            if part.get_content_type() != "message/delivery-status":
                continue
            for block in part.get_payload():
                status = (block.get("Status") or "").strip()
                if status.startswith("5."):
                    return True
        return False
