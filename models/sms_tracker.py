from odoo import fields, models

# What a provider answers for a number whose owner opted out at the provider
# (texted STOP to it): Odoo's own failure types for it, and the states a
# gateway may answer (IAP has none; other providers map theirs to these).
OPTED_OUT_FAILURE_TYPES = {"sms_optout", "sms_blacklist"}
# how a consent change arrived, read by the consent log when the consent
# package is there (models/consent/customer_message_consent_log.py)
CONSENT_SOURCE_KEY = "customer_messages_consent_source"
OPTED_OUT_PROVIDER_ERRORS = {"optout", "opted_out", "blacklisted", "unsubscribed"}


class SmsTracker(models.Model):
    """The tracker of an SMS of a customer message carries the provider's
    answers to its line: the answer when sending, then the delivery reports
    posted to /sms/status. As for Odoo's own trackers, every caller (the
    sending queue, the webhook) already runs them as superuser."""

    _inherit = "sms.tracker"

    customer_message_recipient_id = fields.Many2one(
        "customer.message.recipient",
        string="Customer message recipient",
        index="btree_not_null",
        ondelete="cascade",
    )

    def _action_update_from_provider_error(self, provider_error):
        error_status, failure_type, failure_reason = (
            super()._action_update_from_provider_error(provider_error)
        )
        if provider_error in OPTED_OUT_PROVIDER_ERRORS:
            self._blacklist_customer_message_numbers()
            return error_status, failure_type, failure_reason
        reason = self._get_customer_message_failure_reason(failure_type, failure_reason)
        if error_status == "bounce":
            reason = self.env._("Bounced: %(details)s", details=reason)
        self._set_customer_message_result(failure_reason=reason)
        return error_status, failure_type, failure_reason

    def _action_update_from_sms_state(
        self, sms_state, failure_type=False, failure_reason=False
    ):
        result = super()._action_update_from_sms_state(
            sms_state, failure_type=failure_type, failure_reason=failure_reason
        )
        if sms_state == "error" and failure_type in OPTED_OUT_FAILURE_TYPES:
            self._blacklist_customer_message_numbers()
        elif sms_state == "error":
            if failure_type == "sms_server" and self.env.context.get(
                "customer_messages_sms_retry"
            ):
                # the gateway failed: tried again later (sms.sms)
                return result
            self._set_customer_message_result(
                failure_reason=self._get_customer_message_failure_reason(
                    failure_type, failure_reason
                )
            )
        elif sms_state in ("pending", "sent"):
            self._set_customer_message_result(delivered=sms_state == "sent")
        # outgoing, process: still on their way; canceled: the line follows
        # through sms.sms.write
        return result

    def _get_customer_message_failure_reason(self, failure_type, failure_reason=False):
        """Odoo's label of the failure (those of SMS notifications know the
        delivery report errors too), with the provider's details if any."""
        labels = dict(
            self.env["mail.notification"]
            ._fields["failure_type"]
            ._description_selection(self.env)
        )
        label = labels.get(failure_type)
        if not label:
            return failure_reason or failure_type or labels["unknown"]
        if failure_reason and failure_reason != label:
            return self.env._(
                "%(error)s: %(details)s", error=label, details=failure_reason
            )
        return label

    def _set_customer_message_result(self, failure_reason=None, delivered=False):
        """Write an answer of the provider on the lines of these trackers.

        Cancelled and removed lines are left alone. A failure reaches lines
        in progress or sent; "sent to the operator" (pending) only completes
        a line in progress, while "delivered" also corrects an earlier
        failure. A sent line keeps its date.
        """
        recipients = self.customer_message_recipient_id
        if failure_reason:
            failed = recipients.filtered(lambda r: r.state in ("processing", "sent"))
            failed._set_delivery_result(failure_reason)
        else:
            states = ("processing", "error") if delivered else ("processing",)
            done = recipients.filtered(lambda r: r.state in states)
            done._set_delivery_result()

    def _blacklist_customer_message_numbers(self):
        """The provider refused the SMS: its owner opted out there (texted
        STOP). The number goes to Odoo's phone blacklist, so that no SMS is
        sent to it again until START, and the line fails with the reason."""
        recipients = self.customer_message_recipient_id
        numbers = {
            recipient.partner_id._phone_format(
                number=recipient.phone,
                country=recipient.partner_id.country_id,
                force_format="E164",
            )
            for recipient in recipients
            # an erased line's number is a placeholder
            if recipient.phone and not recipient.erased_date
        } - {False}
        if numbers:
            # recorded in the consent log as the SMS provider's (the trackers
            # run as superuser, see the class)
            self.env["phone.blacklist"].with_context(
                **{CONSENT_SOURCE_KEY: "sms_provider"}
            )._add(
                sorted(numbers),
                message=self.env._(
                    "The SMS provider answered that the number opted out."
                ),
            )
        self._set_customer_message_result(
            failure_reason=self.env._(
                "The customer opted out at the SMS provider (STOP): number blacklisted"
            )
        )
