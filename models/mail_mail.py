from odoo import api, fields, models
from odoo.tools import SQL, formataddr


class MailMail(models.Model):
    """The emails of customer messages in Odoo's queue: tied to their line,
    left alone by Odoo's queue cron (the module's sending loop is in
    mail_mail_sending.py), addressed safely, and reporting to their line."""

    _inherit = "mail.mail"

    customer_message_recipient_id = fields.Many2one(
        "customer.message.recipient",
        string="Customer message recipient",
        index="btree_not_null",
        ondelete="set null",
    )

    @api.model
    def process_email_queue(self, email_ids=(), batch_size=1000):
        # The emails of customer messages are sent by the module's cron, which
        # claims them before sending so that none goes out twice: Odoo's own
        # queue, which only claims them in its uncommitted transaction, leaves
        # them alone.
        filters = [
            *self.env.context.get("filters", []),
            ("customer_message_recipient_id", "=", False),
        ]
        return super(MailMail, self.with_context(filters=filters)).process_email_queue(
            email_ids=email_ids, batch_size=batch_size
        )

    def _prepare_outgoing_list(self, mail_server=False, doc_to_followers=None):
        # A customer types her own name (in the portal): the name of the
        # address is folded to one line, so that a line break in it can
        # neither start a header nor make the email fail.
        emails = super()._prepare_outgoing_list(
            mail_server=mail_server, doc_to_followers=doc_to_followers
        )
        if self.customer_message_recipient_id:
            for email in emails:
                partner = email["partner_id"]
                if partner and email["email_to_normalized"]:
                    name = " ".join((partner.name or "").split())
                    email["email_to"] = [
                        formataddr((name, address))
                        for address in email["email_to_normalized"]
                    ]
        return emails

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
                mails = self.filtered("customer_message_recipient_id")
                recipients.flush_recordset(["email_reference"])
                # sql: each line's Message-Id, in one query for the chunk
                # (the ORM writes different values line by line)
                self.env.execute_query(
                    SQL(
                        "UPDATE customer_message_recipient AS line "
                        "SET email_reference = sent.reference "
                        "FROM unnest(%s::int[], %s::varchar[]) "
                        "AS sent(line_id, reference) WHERE line.id = sent.line_id",
                        [mail.customer_message_recipient_id.id for mail in mails],
                        [mail.message_id for mail in mails],
                    )
                )
                recipients.invalidate_recordset(["email_reference"])
        return super()._postprocess_sent_message(
            success_pids,
            success_emails,
            failure_reason=failure_reason,
            failure_type=failure_type,
        )

    def write(self, vals):
        result = super().write(vals)
        if vals.get("state") == "cancel":
            # an email cancelled in Odoo's queue cancels its line
            self.customer_message_recipient_id._cancel_from_queue()
        return result
