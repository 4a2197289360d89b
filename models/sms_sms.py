from odoo import api, fields, models


class SmsSms(models.Model):
    _inherit = "sms.sms"

    customer_message_recipient_id = fields.Many2one(
        "customer.message.recipient",
        string="Customer message recipient",
        index="btree_not_null",
        ondelete="set null",
    )

    @api.model_create_multi
    def create(self, vals_list):
        sms_list = super().create(vals_list)
        sms_list.filtered(
            lambda sms: sms.customer_message_recipient_id and sms.state == "outgoing"
        )._create_customer_message_trackers()
        return sms_list

    def write(self, vals):
        result = super().write(vals)
        if vals.get("state") == "canceled":
            # an SMS cancelled in Odoo's queue cancels its line, as an email
            # cancelled does (see mail.mail.write)
            self.customer_message_recipient_id._cancel_from_queue()
        return result

    def _create_customer_message_trackers(self):
        """One sms.tracker per SMS, keyed by its uuid as Odoo's notifications
        do: the answer when sending and the later delivery reports reach the
        line through it (see sms.tracker), even once the SMS is deleted.
        A line follows its latest SMS: the trackers of earlier ones go."""
        if not self:
            return
        recipients = self.customer_message_recipient_id
        trackers = self.env["sms.tracker"]
        trackers.search(
            [("customer_message_recipient_id", "in", recipients.ids)]
        ).unlink()
        vals_list = []
        for sms in self:
            recipient = sms.customer_message_recipient_id
            vals_list.append(
                {"sms_uuid": sms.uuid, "customer_message_recipient_id": recipient.id}
            )
        trackers.create(vals_list)
