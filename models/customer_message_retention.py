from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL

# How old a finished message's lines get before the retention cron purges
# them (setting customer_messages.retention_months, 0: kept for ever), and
# how many lines one committed batch deletes
RETENTION_MONTHS = 12
PURGE_BATCH_SIZE = 5000
FINISHED_STATES = ("sent", "error", "cancelled", "removed")
# the counts a purged message keeps: those of _compute_counts
# (customer_message.py), then those of _compute_read_counts
# (customer_message_read_receipts.py)
KEPT_COUNTS = (
    "recipient_count",
    "sent_count",
    "failed_count",
    "cancelled_count",
    "pending_count",
    "published_count",
    "read_count",
    "acknowledged_count",
)


class CustomerMessage(models.Model):
    """Retention: a monthly send to 100,000 customers adds 100,000 lines,
    each with the body rendered for its customer. Once a finished message is
    older than the retention age, the scheduled action *Customer messages:
    purge old recipient lines* keeps its counts on the message, then deletes
    its lines (with their bodies) and the queue records left of them (failed
    emails and SMS), in committed batches, within the cron worker's time box.

    The message keeps its own subject, body and SMS text and its audit
    (customer_message_audit.py); the customers' chatter keeps its one line
    per message (logged by Odoo on the customer, not on the line)."""

    _inherit = "customer.message"

    purged_date = fields.Datetime(
        string="Lines purged on",
        readonly=True,
        copy=False,
        help="When the recipient lines of this message were deleted by the "
        "retention (Settings: customer_messages.retention_months): its counts "
        "are those it had then.",
    )
    kept_counts = fields.Json(
        string="Counts kept",
        readonly=True,
        copy=False,
        help="Technical: the counts of the message when its lines were purged.",
    )

    def _compute_counts(self):
        result = super()._compute_counts()
        self._apply_kept_counts(KEPT_COUNTS[:5])
        return result

    def _compute_read_counts(self):
        result = super()._compute_read_counts()
        self._apply_kept_counts(KEPT_COUNTS[5:])
        for message in self.filtered("kept_counts"):
            published = message.published_count
            message.read_rate = message.read_count / published if published else 0.0
        return result

    def _apply_kept_counts(self, fnames):
        """A purged message (or one being purged) counts what it kept."""
        for message in self:
            kept = message.kept_counts
            if kept:
                for fname in fnames:
                    message[fname] = kept.get(fname, 0)

    @api.model
    def _get_retention_cutoff(self):
        """The date before which finished messages lose their lines, or None
        when lines are kept for ever."""
        months = int(
            # sudo: a setting read only
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("customer_messages.retention_months", RETENTION_MONTHS)
        )
        if months <= 0:
            return None
        return fields.Datetime.now() - relativedelta(months=months)

    @api.model
    def _cron_purge_old_lines(self):
        """Purge the lines of the finished messages older than the retention
        age: each message's counts stored first (committed), then its lines
        deleted batch by batch, each batch committed, until the time box of
        the cron worker is spent (then the cron is triggered again)."""
        cutoff = self._get_retention_cutoff()
        if cutoff is None:
            return
        auto_commit = self._auto_commit()
        batch_size = int(
            # sudo: a setting read only
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("customer_messages.purge_batch_size", PURGE_BATCH_SIZE)
        )
        messages = self.search(
            Domain("date", "<", cutoff)
            & Domain("state", "in", FINISHED_STATES)
            & Domain("recipient_ids", "!=", False),
            order="date, id",
        )
        for message in messages:
            if not message.kept_counts:
                message._keep_counts()
                if auto_commit:
                    self.env["ir.cron"]._commit_progress()
            while not self._out_of_time():
                deleted = message._purge_lines(batch_size)
                if auto_commit:
                    self.env["ir.cron"]._commit_progress(deleted)
                if deleted < batch_size:
                    break
            if self._out_of_time():
                self._continue_later()
                return

    def _keep_counts(self):
        """Store the counts of the message, as its lines give them now."""
        self.ensure_one()
        self.invalidate_recordset(KEPT_COUNTS)
        self.write(
            {
                "kept_counts": {fname: self[fname] for fname in KEPT_COUNTS},
                "purged_date": fields.Datetime.now(),
            }
        )

    def _purge_lines(self, limit):
        """Delete up to ``limit`` lines of the message, with the emails and
        SMS Odoo's queues kept of them (failed ones: sent ones are deleted
        by the queues). Return how many lines were deleted."""
        self.ensure_one()
        Recipient = self.env["customer.message.recipient"]
        self.env.flush_all()
        # sql: 100,000 lines a message; the ORM would read each line and its
        # queue records before deleting them. The database's own foreign
        # keys clear what points to them (attachments' links cascade; a
        # fallback line, an email or an SMS pointing to one is set to null).
        rows = self.env.execute_query(
            SQL(
                "SELECT id FROM customer_message_recipient WHERE message_id = %s "
                "ORDER BY id LIMIT %s",
                self.id,
                limit,
            )
        )
        line_ids = [line_id for (line_id,) in rows]
        if not line_ids:
            return 0
        # the queue records of the lines hold their bodies too; the chatter
        # line of a failed email (its mail.message) stays
        self.env.cr.execute(
            SQL(
                "DELETE FROM mail_mail WHERE customer_message_recipient_id = ANY(%s)",
                line_ids,
            )
        )
        self.env.cr.execute(
            SQL(
                "DELETE FROM sms_sms WHERE customer_message_recipient_id = ANY(%s) "
                "AND state NOT IN ('outgoing', 'process')",
                line_ids,
            )
        )
        self.env.cr.execute(
            SQL("DELETE FROM customer_message_recipient WHERE id = ANY(%s)", line_ids)
        )
        Recipient.invalidate_model()
        self.env["mail.mail"].invalidate_model()
        self.env["sms.sms"].invalidate_model()
        self.invalidate_recordset(["recipient_ids"])
        return len(line_ids)

    @api.model
    def _continue_later(self):
        """Out of time: the cron runs again at once, in a new turn of a
        worker (see customer_message_time_box.py)."""
        cron_id = self.env.context.get("cron_id")
        if not cron_id:
            return
        # sudo: the cron running this is triggered again, whoever runs it
        self.env["ir.cron"].sudo().browse(cron_id)._trigger()
        if self.env.context.get("ir_cron_progress_id"):
            self.env["ir.cron"]._commit_progress(remaining=0)
