from odoo import fields, models


class SmsSms(models.Model):
    _inherit = "sms.sms"

    customer_message_recipient_id = fields.Many2one(
        "customer.message.recipient",
        string="Customer message recipient",
        index="btree_not_null",
        ondelete="set null",
    )

    def _handle_call_result_hook(self, results):
        # The gateway answered: copy each SMS's outcome onto its line.
        result = super()._handle_call_result_hook(results)
        failure_labels = dict(
            self._fields["failure_type"]._description_selection(self.env)
        )
        for sms in self.filtered("customer_message_recipient_id"):
            recipient = sms.customer_message_recipient_id.sudo()
            # sudo: the gateway's answer is processed as whoever sent it
            if sms.state == "error":
                reason = (
                    failure_labels.get(sms.failure_type) or sms.failure_type or "error"
                )
                recipient._set_delivery_result(reason)
            elif sms.state in ("pending", "sent"):
                recipient._set_delivery_result()
        return result
