from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import email_normalize


class CustomerMessageComposer(models.TransientModel):
    """What the user checks before sending: the checks and the confirmation
    step, the preview (the message as one recipient gets it, the arrows and
    the "Preview as" picker), and the test send to a staff address or
    number. The fields and the send are in customer_message_composer.py."""

    _inherit = "customer.message.composer"

    @api.depends("preview_index", "first_recipient_id", "recipient_count")
    def _compute_preview_partner(self):
        """The recipient at the preview's position (the arrows move it, the
        "Preview as" picker sets it), among those who can receive it."""
        for composer in self:
            count = composer.recipient_count
            index = composer.preview_index % count if count else 0
            partner = composer.first_recipient_id
            if index:
                # the first recipient is known already; others need the search
                partner = composer._get_sendable_recipient(index)
            composer.preview_partner_id = partner

    @api.depends("preview_index", "preview_partner_id", "recipient_count")
    def _compute_preview_position(self):
        for composer in self:
            count = composer.recipient_count
            composer.preview_position = (
                self.env._(
                    "%(position)s of %(count)s",
                    position=composer.preview_index % count + 1,
                    count=count,
                )
                if composer.preview_partner_id and count
                else False
            )

    @api.onchange("preview_partner_id")
    def _onchange_preview_partner_id(self):
        """A recipient picked: the arrows go on from its position."""
        partner = self.preview_partner_id._origin
        if not partner:
            self.preview_index = 0
            return None
        position = self._get_message_model()._get_sendable_position(
            self._get_recipient_query(), partner, channel=self.channel
        )
        if position is None:
            name = partner.with_context(customer_messages_search=False).display_name
            self._compute_preview_partner()  # back to the one at the position
            return {
                "warning": {
                    "title": self.env._("Not a recipient"),
                    "message": self.env._(
                        "%(name)s does not receive this message.", name=name
                    ),
                }
            }
        self.preview_index = position
        return None

    @api.depends(
        "preview_partner_id",
        "subject",
        "body_html",
        "sms_body",
        "template_id",
        "invoice_policy",
        "proforma_policy",
        "payment_policy",
        "invoice_ids",
        "payment_ids",
        "document_date_from",
        "document_date_to",
        "attachment_ids",
        "add_pay_links",
    )
    def _compute_preview(self):
        for composer in self:
            partner = composer.preview_partner_id._origin
            if not partner or not composer.subject:
                composer.preview_subject = False
                composer.preview_body = False
                composer.preview_sms_body = False
                composer.preview_documents = False
                continue
            # sudo: holds the picked documents (none for users who may not
            # pick them); the content is rendered as the user, and checked
            message = (
                self.env["customer.message"]
                .sudo()
                .new(composer._prepare_message_values())
                .sudo(False)
            )
            rendered = message._render_for_partners(partner)[partner.id]
            posted, drafts, payments = message._get_documents(partner)[partner]
            names = [
                *composer.attachment_ids.mapped("name"),
                *(
                    self.env._("Invoice %(name)s (PDF)", name=move.name)
                    for move in posted
                ),
                *(
                    self.env._(
                        "Pro-forma invoice %(name)s (PDF)",
                        name=message._get_proforma_number(move),
                    )
                    for move in drafts
                ),
                *(
                    self.env._(
                        "Payment receipt %(name)s (PDF)", name=payment.display_name
                    )
                    for payment in payments
                ),
            ]
            composer.preview_subject = rendered["subject"]
            is_sms = composer.channel == "sms"
            composer.preview_body = False if is_sms else rendered["body_html"]
            composer.preview_sms_body = (
                rendered["sms_body"] or rendered["subject"] if is_sms else False
            )
            composer.preview_documents = composer._render_list(names)

    def _move_preview(self, step):
        self.ensure_one()
        count = self.recipient_count
        self.preview_index = (self.preview_index + step) % count if count else 0
        return self._reopen()

    def action_preview_next(self):
        return self._move_preview(1)

    def action_preview_previous(self):
        return self._move_preview(-1)

    def action_send_test(self):
        """Send the message as rendered for one customer to the test address
        (the test number for SMS), at once."""
        self._check_ready()
        if not self.test_partner_id:
            raise UserError(
                self.env._("Enter the Customer ID to render the test message for.")
            )
        values = self._prepare_message_values()
        values.update(origin="test", scheduled_date=False)
        if self.channel == "sms":
            # the staff's own number: their country unless international
            number = self.test_phone and self.env.user.partner_id._phone_format(
                number=self.test_phone, force_format="E164"
            )
            if not number:
                raise UserError(
                    self.env._(
                        "Enter a valid test number, in international format "
                        "(e.g. +32 470 12 34 56)."
                    )
                )
            values.update(test_phone=number)
            destination = number
        else:
            if not email_normalize(self.test_email or ""):
                raise UserError(self.env._("Enter a valid test email address."))
            values.update(channel="email", test_email=self.test_email)
            destination = self.test_email
        values["recipient_filter"] = self.env._(
            "Test for Customer ID %(id)s to %(destination)s",
            id=self.test_partner_id.id,
            destination=destination,
        )
        message = self.env["customer.message"]._send_to_customers(
            self.test_partner_id, values, process="now"
        )
        line = message.recipient_ids[:1]
        state = dict(message._fields["state"]._description_selection(self.env))[
            message.state
        ]
        text = self.env._(
            "Test message to %(destination)s: %(state)s",
            destination=destination,
            state=state,
        )
        reason = line.failure_reason or (
            line.state == "processing" and line.last_answer
        )
        if reason:
            text = self.env._("%(text)s (%(reason)s)", text=text, reason=reason)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success" if message.state == "sent" else "warning",
                "message": text,
                "next": self._reopen(),
            },
        }

    def _check_ready(self):
        self.ensure_one()
        self._get_recipient_domain()  # a clear error for a wrong filter
        if self.mode == "single" and not self.partner_id:
            raise UserError(self.env._("Choose the customer to send the message to."))
        if not self.subject:
            raise UserError(self.env._("The message needs a subject."))
        if self.channel == "sms":
            if not (self.sms_body or self.subject):
                raise UserError(self.env._("The SMS needs a text."))
        # the gate of every send (see customer.message._check_channels_ready)
        fallback = self.fallback_channel if self.channel != "sms" else False
        self.env["customer.message"]._check_channels_ready({self.channel, fallback})

    def _check_recipients(self):
        if not self.recipient_count:
            raise UserError(
                self.env._("No customer can receive this message on this channel.")
            )

    def action_confirm(self):
        self._check_ready()
        self._check_recipients()
        # the confirmation shows the message as the first recipient gets it
        self.write({"step": "confirm", "preview_index": 0})
        return self._reopen()

    def action_back(self):
        self.step = "compose"
        return self._reopen()
