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
        # The delivery report's status is read with the one table of
        # tools/delivery.py (STATUS_TABLE): a hard bounce (5.1.x...)
        # suspends the address at once, a soft one (4.x.x, a full mailbox)
        # is counted by Odoo; a refusal of the sender (5.7.x: SPF, DKIM,
        # DMARC...) counts against nobody (mail.thread.blacklist.
        # _message_receive_bounce); a report that is no failure (Action:
        # delayed...) is nobody's bounce. A complaint (an ARF report, which
        # Odoo takes for a bounce: multipart/report) is no bounce either: it
        # opts the customer out (the hook _hook_feedback_report: the consent
        # package's complaints).
        references = message_dict.get("bounced_msg_ids") or []
        if self.env["customer.message.recipient"]._hook_feedback_report(email_message):
            return None
        status = self._get_delivery_status(email_message)
        sender_fault = status and status["kind"] == "sender" and status["code"]
        if sender_fault and not self.env.context.get("customer_messages_sender_fault"):
            return self.with_context(
                customer_messages_sender_fault=sender_fault
            )._routing_handle_bounce(email_message, message_dict)
        # sudo: bounces are processed by the mail gateway, as whoever
        # fetches the mail; only lines of the bounced email are changed
        recipients = (
            self.env["customer.message.recipient"]
            .sudo()
            .search([("email_reference", "in", references)])
            if references
            else self.env["customer.message.recipient"]
        )
        if recipients and status and status["kind"] == "none":
            # a delay or relay notice of our email: not a bounce
            return None
        result = super()._routing_handle_bounce(email_message, message_dict)
        if not recipients:
            return result
        details = html2plaintext(message_dict.get("body") or "").strip()
        first_line = details.splitlines()[0] if details else ""
        if status and status["kind"] in ("hard", "soft", "sender"):
            recipients._set_bounce_kind(status["kind"])
        if sender_fault:
            for line in recipients:
                line._set_delivery_result(
                    self.env["mail.mail"]._describe_sender_fault(
                        status["answer"] or first_line or sender_fault,
                        line.message_id._get_email_from(),
                        code=sender_fault,
                    )
                )
            return result
        hard = bool(status) and status["kind"] == "hard"
        if status and status["cause"]:
            cause = status["cause"]  # a lazy translation of STATUS_TABLE
            reason = self.env._(
                "%(kind)s bounce (%(code)s: %(cause)s): %(details)s",
                kind=self.env._("Hard") if hard else self.env._("Soft"),
                code=status["code"],
                cause=self.env._(cause),
                details=status["answer"] or first_line,
            )
        else:
            reason = first_line or self.env._("Bounced")
        recipients._set_delivery_result(
            self.env._("Bounced: %(details)s", details=(reason + "\n" + details)[:1000])
        )
        # the contact the email went to (a routed category's invoice
        # contact), else the customer
        recipients.mapped(
            lambda line: line.address_partner_id or line.partner_id
        )._note_email_bounce(reason, hard=hard, counted=True)
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

    def _get_delivery_status(self, email_message):
        """What the delivery report (RFC 3464) says, by the one table of
        tools/delivery.py (STATUS_TABLE), or None when it is no delivery
        report: {"kind": "hard" | "soft" | "sender" | "none", "code", "cause",
        "fix", "answer"}. "none": its recipients were not failed (Action:
        delayed, relayed, delivered, expanded). The Status field is read,
        and the Diagnostic-Code (the receiving server's answer), whose code
        wins when it names the sender (many servers report 5.0.0 in Status)
        or when the Status is generic (x.0.0)."""
        found = None
        for part in email_message.walk():
            if part.get_content_type() != "message/delivery-status":
                continue
            # the first block is about the whole message, the others about
            # one recipient each
            for block in part.get_payload()[1:] or part.get_payload():
                action = str(block.get("Action") or "failed").strip().lower()
                status = delivery.find_status(block.get("Status"))
                answer = " ".join(
                    str(block.get("Diagnostic-Code") or "").partition(";")[2].split()
                )
                diagnostic = delivery.find_status(answer)
                code = status
                by_diagnostic = delivery.classify_status(diagnostic)
                if diagnostic and (
                    not status
                    or status.endswith(".0.0")
                    or (by_diagnostic and by_diagnostic[0] == "sender")
                ):
                    code = diagnostic
                kind, cause, fix = delivery.classify_status(code) or ("", "", "")
                if action not in ("failed", ""):
                    kind = "none"
                result = {
                    "kind": kind or "soft",
                    "code": code or "",
                    "cause": cause,
                    "fix": fix,
                    "answer": answer[:300],
                }
                if result["kind"] == "sender":
                    return result
                if found is None or found["kind"] == "none":
                    found = result
        return found
