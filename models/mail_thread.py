import email
import email.policy

from odoo import models
from odoo.tools import html2plaintext
from odoo.tools.mail import email_normalize

from ..tools import delivery

# The header by which OCA's mail_tracking names its record of an email (and
# the one its older versions used)
TRACKING_HEADERS = ("X-Odoo-MailTracking-ID", "X-Odoo-Tracking-ID")


class MailThread(models.AbstractModel):
    _inherit = "mail.thread"

    def _routing_handle_bounce(self, email_message, message_dict):
        # A bounce of one of our emails turns its line into Sent with error;
        # sent emails are deleted, so the line is found by its Message-Id.
        # Odoo counts the bounce on the contact; a permanent one (a 5.x.x
        # status in the delivery report) suspends the address at once. A
        # refusal of the sender (5.7.x: SPF, DKIM, DMARC...) counts against
        # nobody (mail.thread.blacklist._message_receive_bounce).
        sender_fault = self._get_sender_fault_status(email_message)
        if sender_fault and not self.env.context.get("customer_messages_sender_fault"):
            return self.with_context(
                customer_messages_sender_fault=sender_fault
            )._routing_handle_bounce(email_message, message_dict)
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
            if recipients and sender_fault:
                details = html2plaintext(message_dict.get("body") or "").strip()
                for line in recipients:
                    line._set_delivery_result(
                        self.env["mail.mail"]._describe_sender_fault(
                            details.splitlines()[0] if details else sender_fault,
                            line.message_id._get_email_from(),
                        )
                    )
            elif recipients:
                details = html2plaintext(message_dict.get("body") or "").strip()
                hard = self._is_permanent_bounce(email_message)
                recipients._set_delivery_result(
                    self.env._("Bounced: %(details)s", details=details[:1000])
                )
                # the contact the email went to (a routed category's
                # invoice contact), else the customer
                recipients.mapped(
                    lambda line: line.address_partner_id or line.partner_id
                )._note_email_bounce(
                    details.splitlines()[0] if details else self.env._("Bounced"),
                    hard=hard,
                    counted=True,
                )
                self._hook_customer_message_bounce(
                    recipients, email_message, message_dict, hard, details
                )
        return result

    def _hook_customer_message_bounce(
        self, recipients, email_message, message_dict, hard, details
    ):
        """Extension point: a bounce of emails of customer messages, once
        their lines and contacts have it. Odoo deletes those emails and their
        mail.message once sent, by which other mail modules find what a
        bounce is about: OCA's mail_tracking, when installed, gets it here,
        on its records of those emails (named by their tracking header, which
        the delivery report returns with the bounced email's headers), as a
        hard or a soft bounce."""
        if "mail.tracking.email" not in self.env:
            return
        ids = [
            int(value)
            for value in self._get_bounced_headers(email_message, TRACKING_HEADERS)
            if value.strip().isdigit()
        ]
        if not ids:
            return
        partners = recipients.mapped(
            lambda line: line.address_partner_id or line.partner_id
        )
        addresses = {email_normalize(line.email) for line in recipients if line.email}
        handled = message_dict.get("bounced_message") or self.env["mail.message"]
        # sudo: mail_tracking's records are its administrators'; only those
        # of the addresses and contacts of the bounced lines are changed
        trackings = (
            self.env["mail.tracking.email"]
            .sudo()
            .browse(ids)
            .exists()
            .filtered(
                lambda tracking: (
                    tracking.partner_id in partners
                    or tracking.recipient_address in addresses
                )
                # mail_tracking handles the bounces of the emails it finds
                and tracking.mail_message_id not in handled
            )
        )
        if trackings:
            trackings.event_create(
                "hard_bounce" if hard else "soft_bounce",
                {
                    "bounce_type": "hard" if hard else "soft",
                    "bounce_description": details[:500],
                },
            )

    def _get_bounced_headers(self, email_message, names):
        """The values of the headers ``names`` of the bounced email, as the
        delivery report returns it (whole, or its headers only)."""
        values = []
        for part in email_message.walk():
            content_type = part.get_content_type()
            if content_type == "message/rfc822":
                returned = part.get_payload()
                returned = returned[0] if isinstance(returned, list) else returned
            elif content_type == "text/rfc822-headers":
                returned = email.message_from_bytes(
                    part.get_payload(decode=True) or b"", policy=email.policy.SMTP
                )
            else:
                continue
            for name in names:
                values += [str(value) for value in returned.get_all(name) or ()]
        return values

    def _get_sender_fault_status(self, email_message):
        """The 5.7.x status (see tools/delivery.py sender_fault) when the
        delivery report (RFC 3464) says the receiving server refused the
        sender, in its Status or its Diagnostic-Code; None otherwise."""
        for part in email_message.walk():
            if part.get_content_type() != "message/delivery-status":
                continue
            for block in part.get_payload():
                for field in ("Status", "Diagnostic-Code"):
                    value = str(block.get(field) or "").strip()
                    value = value.partition(";")[2] if ";" in value else value
                    status = delivery.sender_fault(value)
                    if status:
                        return status
        return None

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
