from odoo import fields, models


class MailMail(models.Model):
    _inherit = "mail.mail"

    customer_message_recipient_id = fields.Many2one(
        "customer.message.recipient",
        string="Customer message recipient",
        index="btree_not_null",
        ondelete="set null",
    )

    def _postprocess_sent_message(
        self, success_pids, success_emails, failure_reason=False, failure_type=None
    ):
        # Copy the outcome onto the recipient lines now, in the queue's own
        # transaction: sent mails may be deleted right after (auto_delete).
        recipients = self.customer_message_recipient_id.sudo()
        if recipients:
            # sudo: the queue runs as whoever sends it; the line is ours.
            if failure_type:
                labels = dict(
                    self._fields["failure_type"]._description_selection(self.env)
                )
                recipients._set_delivery_result(
                    failure_reason or labels.get(failure_type) or failure_type
                )
            else:
                recipients._set_delivery_result()
                for mail in self.filtered("customer_message_recipient_id"):
                    mail.customer_message_recipient_id.sudo().email_message_id = (
                        mail.message_id
                    )
        return super()._postprocess_sent_message(
            success_pids,
            success_emails,
            failure_reason=failure_reason,
            failure_type=failure_type,
        )

    def write(self, vals):
        result = super().write(vals)
        if vals.get("state") == "cancel":
            recipients = self.customer_message_recipient_id.sudo().filtered(
                lambda r: r.state in ("new", "processing")
            )
            # sudo: an email cancelled in Odoo's queue cancels its line
            recipients.write({"state": "cancelled", "done_date": fields.Datetime.now()})
        return result
