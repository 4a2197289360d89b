import email
import logging

from odoo import api, fields, models

_logger = logging.getLogger(__name__)

# What a complaint opts the customer out of: "category" (the complained-about
# message's category) or "bulk" (every bulk category: those with one-click
# unsubscribe, the complained-about one too)
COMPLAINT_OPT_OUT_SCOPE = ("customer_messages.complaint_opt_out_scope", "category")


class CustomerMessageComplaint(models.Model):
    """A complaint of a customer about one of our emails, reported by a
    mailbox provider's feedback loop (an ARF report, RFC 5965: "this is
    spam"). Made by the system only (``_receive_feedback_report``, called by
    Odoo's mail gateway for every report it receives); the customer is
    opted out through the consent gate (customer.message.category.
    _set_opt_out, so the consent log records it) and the complaint counts
    for the message's category (its complaint rate, see the circuit breaker
    in customer_message_breaker.py)."""

    _name = "customer.message.complaint"
    _description = "Customer Complaint (feedback loop)"
    _order = "date desc, id desc"
    _rec_name = "partner_id"

    date = fields.Datetime(
        string="Received on",
        required=True,
        readonly=True,
        index=True,
        default=fields.Datetime.now,
    )
    recipient_id = fields.Many2one(
        "customer.message.recipient",
        string="Line",
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    message_id = fields.Many2one(
        "customer.message", readonly=True, index=True, ondelete="cascade"
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", readonly=True, index=True, ondelete="cascade"
    )
    category_id = fields.Many2one(
        "customer.message.category", readonly=True, index=True, ondelete="set null"
    )
    company_id = fields.Many2one(
        "res.company", readonly=True, index=True, ondelete="cascade"
    )
    feedback_type = fields.Char(
        readonly=True, help="The report's Feedback-Type (abuse, fraud, virus...)."
    )
    user_agent = fields.Char(
        string="Reported by", readonly=True, help="The report's User-Agent."
    )
    opted_out = fields.Boolean(
        readonly=True,
        help="The complaint opted the customer out (a category customers may "
        "not turn off, such as Billing, is only counted).",
    )

    @api.model
    def _receive_feedback_report(self, email_message):
        """Handle a report of Odoo's mail gateway when it is a complaint
        feedback report (ARF: a message/feedback-report part). The
        complained-about email is found by our header or its Message-Id in
        the returned part (the recipient is often redacted); its customer is
        opted out of that email's category on the email channel (or of every
        bulk category, ``customer_messages.complaint_opt_out_scope`` =
        ``bulk``), and the complaint is recorded.

        :return: whether it was a feedback report (then no bounce)
        """
        report = next(
            (
                part
                for part in email_message.walk()
                if part.get_content_type() == "message/feedback-report"
            ),
            None,
        )
        if report is None:
            return False
        fields_ = self._parse_feedback_fields(report)
        Recipient = self.env["customer.message.recipient"]
        returned = Recipient._get_returned_email(email_message)
        line = (
            Recipient._find_by_returned_headers(returned)
            if returned is not None
            else Recipient
        )
        if not line:
            _logger.info(
                "Customer messages: a complaint report about no email of ours (%s)",
                email_message.get("Message-Id"),
            )
            return True
        self._record_complaint(line, fields_)
        return True

    @api.model
    def _parse_feedback_fields(self, report):
        """{field name (lower case): value} of the machine-readable part of
        an ARF report (one block of header-like fields)."""
        payload = report.get_payload()
        blocks = payload if isinstance(payload, list) else []
        if not blocks:
            text = payload if isinstance(payload, str) else ""
            blocks = [email.message_from_string(text)] if text else []
        values = {}
        for block in blocks:
            for name, value in block.items():
                values.setdefault(name.lower(), " ".join(str(value).split()))
        return values

    @api.model
    def _record_complaint(self, line, fields_):
        """Opt the line's customer out (consent gate) and record the
        complaint. Runs as the system: a report is the mail system's news."""
        # sudo: written by the system for a line found by a signed header
        # or its Message-Id (see _find_by_returned_headers)
        line = line.sudo()
        partner = line.partner_id
        category = line.message_id.category_id
        categories = category.filtered("allow_opt_out")
        params = self.env["ir.config_parameter"].sudo()
        if params.get_param(*COMPLAINT_OPT_OUT_SCOPE) == "bulk":
            categories |= (
                self.env["customer.message.category"]
                .sudo()
                .search([("one_click_unsubscribe", "=", True)])
            )
        for each in categories:
            each._set_opt_out(partner, ("email",), source="complaint")
        # this worker reads the rates of the circuit breaker again
        self.env.cr.cache.pop("customer_messages_breaker", None)
        return self.sudo().create(
            {
                "recipient_id": line.id,
                "message_id": line.message_id.id,
                "partner_id": partner.id,
                "category_id": category.id,
                "company_id": line.message_id.company_id.id,
                "feedback_type": fields_.get("feedback-type") or "abuse",
                "user_agent": (fields_.get("user-agent") or "")[:200],
                "opted_out": bool(categories),
            }
        )


class CustomerMessageRecipient(models.Model):
    _inherit = "customer.message.recipient"

    @api.model
    def _hook_feedback_report(self, email_message):
        # called by the bounce handler (models/mail_thread.py)
        return super()._hook_feedback_report(email_message) or self.env[
            "customer.message.complaint"
        ]._receive_feedback_report(email_message)
