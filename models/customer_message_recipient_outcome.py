from collections import defaultdict

from markupsafe import Markup

from odoo import fields, models
from odoo.tools import SQL

from .customer_message import PORTAL_CHANNELS


class CustomerMessageRecipient(models.Model):
    """The outcome of a line's delivery, written back by the queues
    (mail.mail, sms.sms, bounces): sent or failed (``_set_delivery_result``),
    cancelled, reset for a retry, and the trace a sent line leaves in Odoo
    (the customer's chatter, the invoices it carried marked sent)."""

    _inherit = "customer.message.recipient"

    # ------------------------------------------------------------------
    # STATUS (written back by the queues)
    # ------------------------------------------------------------------

    def _action_cancel(self, reason):
        """Cancel these lines and their queued emails and SMS. A line whose
        email a worker is sending right now is left to finish as sent or
        failed: no line ends cancelled once its email may have left."""
        lines = self.filtered(
            lambda line: not line.mail_mail_id.customer_message_claim_pid
        )
        lines.write(
            {
                "state": "cancelled",
                "failure_reason": reason,
                "done_date": fields.Datetime.now(),
            }
        )
        # sudo: queue records, readable by administrators only
        queued_mails = lines.mail_mail_id.filtered(
            lambda mail: mail.state in ("outgoing", "exception")
        )
        queued_mails.sudo().write({"state": "cancel"})
        queued_sms = lines.sms_id.filtered(lambda sms: sms.state == "outgoing")
        queued_sms.sudo().action_set_canceled()

    def _cancel_from_queue(self):
        """Their queued email or SMS was cancelled in Odoo's queue (by an
        administrator, or by _action_cancel): the lines still pending are
        cancelled, and their messages end when nothing is left to send."""
        # sudo: whoever cancels the queue record, the line follows it
        pending = self.sudo().filtered(lambda r: r.state in ("new", "processing"))
        if pending:
            pending.write({"state": "cancelled", "done_date": fields.Datetime.now()})
            pending.message_id._update_state()

    def _reset_for_retry(self):
        """Back to New for Retry failed: the failure goes to the line's
        history (previous_failures), the next tries start afresh."""
        for line in self:
            failure = self.env._(
                "%(date)s, after %(count)s tries: %(reason)s",
                date=fields.Datetime.to_string(line.done_date or fields.Datetime.now()),
                count=line.delivery_attempts + 1,
                reason=line.failure_reason or "",
            )
            line.write(
                {
                    "state": "new",
                    "previous_failures": "\n".join(
                        filter(None, [failure, line.previous_failures])
                    ),
                    "failure_reason": False,
                    "delivery_attempts": 0,
                    "last_answer": False,
                    "next_try_date": False,
                    "done_date": False,
                    "mail_mail_id": False,
                    "sms_id": False,
                }
            )

    def _set_delivery_result(self, failure_reason=None):
        """Write back what the queue did: sent, or failed with the reason
        (also after the fact: a finished message follows its lines)."""
        now = fields.Datetime.now()
        if failure_reason:
            self.write(
                {
                    "state": "error",
                    "failure_reason": failure_reason,
                    "done_date": now,
                    "next_try_date": False,
                }
            )
        else:
            self.write(
                {
                    "state": "sent",
                    "done_date": now,
                    "failure_reason": False,
                    "next_try_date": False,
                }
            )
            # a line sent again (an SMS reported delivered after a failure
            # report...) keeps when it was first sent
            first = self.filtered(lambda recipient: not recipient.sent_date)
            first.sent_date = now
            first._trace_sent()
        self.message_id._update_done_state()

    def _trace_sent(self):
        """Lines sent (for the first time) leave a trace in Odoo: one line in
        the customer's chatter per message (portal messages have theirs
        from _publish_in_portal), and the invoices they carried are marked
        sent, with a line in their chatter, as Invoicing's Send does. Tests
        to a staff address leave none."""
        lines = self.filtered(lambda line: line.message_id.origin != "test")
        if not lines:
            return
        channels = dict(
            self.env["customer.message"]
            ._fields["channel"]
            ._description_selection(self.env)
        )
        logged = lines.filtered(lambda line: line.channel not in PORTAL_CHANNELS)
        for message, message_lines in logged.grouped("message_id").items():
            # Odoo's batch log: one query for all the customers' lines (a
            # message has one line per customer); sudo inside, as the log
            # of what the system sent
            message_lines.partner_id._message_log_batch(
                bodies={
                    line.partner_id.id: Markup("<p>%s</p>")
                    % self.env._(
                        "Customer message “%(subject)s” sent (%(channel)s).",
                        subject=line.subject or "",
                        channel=channels.get(line.channel, line.channel),
                    )
                    for line in message_lines
                },
                author_id=message.author_id.partner_id.id,
            )
        lines._mark_invoices_sent(channels)

    def _mark_invoices_sent(self, channels):
        # sql: the invoices whose PDFs the lines carried, in one query (the
        # attachments' own fields read through the ORM, line by line, took
        # longer than the rest of it)
        rows = self.env.execute_query(
            SQL(
                """SELECT DISTINCT carried.line_id, attachment.res_id
                     FROM (SELECT recipient_id AS line_id, attachment_id
                             FROM customer_message_recipient_ir_attachment_rel
                            WHERE recipient_id = ANY(%(ids)s)
                            UNION ALL
                           SELECT line.id, rel.attachment_id
                             FROM customer_message_recipient line
                             JOIN customer_message_ir_attachment_rel rel
                               ON rel.message_id = line.message_id
                            WHERE line.id = ANY(%(ids)s)) AS carried
                     JOIN ir_attachment attachment
                       ON attachment.id = carried.attachment_id
                    WHERE attachment.res_model = 'account.move'
                 ORDER BY carried.line_id, attachment.res_id""",
                ids=self.ids,
            )
        )
        invoices_by_line = defaultdict(list)
        for line_id, move_id in rows:
            invoices_by_line[self.browse(line_id)].append(move_id)
        # sudo: marking sent what the system sent; readers of the history
        # need no Invoicing rights
        moves = (
            self.env["account.move"]
            .sudo()
            .browse({move_id for ids in invoices_by_line.values() for move_id in ids})
        )
        moves = moves.exists().filtered(
            lambda move: move.state == "posted" and move.is_sale_document()
        )
        if not moves:
            return
        moves.filtered(lambda move: not move.is_move_sent).is_move_sent = True
        bodies = {}
        for line, move_ids in invoices_by_line.items():
            for move_id in move_ids:
                if move_id in moves.ids and move_id not in bodies:
                    bodies[move_id] = Markup("<p>%s</p>") % self.env._(
                        "Sent to the customer with the customer message "
                        "“%(subject)s” (%(channel)s).",
                        subject=line.subject or "",
                        channel=channels.get(line.channel, line.channel),
                    )
        moves.browse(list(bodies))._message_log_batch(bodies=bodies)
