import logging

import psycopg2.errors

from odoo import fields, models
from odoo.tools import SQL

from .customer_message import DONE_STATES

_logger = logging.getLogger(__name__)


class CustomerMessage(models.Model):
    """The state of a message follows its lines: done when none is pending
    (``_update_state``, then the ``_hook_done`` extension point), Sent with
    error or Sent again when a line changes after the fact
    (``_update_done_state``)."""

    _inherit = "customer.message"

    # ------------------------------------------------------------------
    # STATE (follows the lines, see customer_message_sending.py)
    # ------------------------------------------------------------------

    def _update_state(self):
        """Done when no recipient is pending: Sent, Sent with error, or
        Reached nobody (every line cancelled: its customers excluded).

        Two cron workers finishing the last batches of a message both get
        here: the one whose snapshot is older cannot write the message the
        other one wrote (a serialization failure in PostgreSQL's repeatable
        read). It leaves the message to the other one, and wakes the
        processing cron up, which settles the message if need be."""
        running = self.filtered(lambda m: m.state in ("new", "processing"))
        for message in running:
            message.invalidate_recordset(
                ["pending_count", "failed_count", "sent_count"]
            )
            if message.pending_count:
                continue
            self.env.flush_all()
            try:
                with self.env.cr.savepoint(flush=False):
                    # sql: the conflict is expected, not a bad query for the log
                    self.env.cr.execute(
                        SQL(
                            "UPDATE customer_message SET state = %s, done_date = %s, "
                            "write_uid = %s, write_date = %s WHERE id = %s",
                            message._get_done_state(),
                            fields.Datetime.now(),
                            self.env.uid,
                            self.env.cr.now(),
                            message.id,
                        ),
                        log_exceptions=False,
                    )
            except psycopg2.errors.SerializationFailure:
                _logger.info(
                    "Customer message %s: finished by another worker", message.id
                )
                # sudo: the cron is woken whoever sends
                self.env.ref(
                    "customer_messages.ir_cron_customer_message_process"
                ).sudo()._trigger()
            message.invalidate_recordset(
                ["state", "done_date", "write_uid", "write_date"]
            )
        running.filtered(lambda m: m.state in DONE_STATES)._hook_done()

    def _get_done_state(self):
        """The state of a message none of whose lines is pending: Sent with
        error while a line failed, Sent when one was sent, else Reached
        nobody (never "Sent" for a message no customer got)."""
        self.ensure_one()
        if self.failed_count:
            return "error"
        return "sent" if self.sent_count else "unsent"

    def _hook_done(self):
        """Extension point: these messages just finished (Sent, Sent with
        error or Reached nobody), called by ``_update_state`` (the fallback
        channel wakes its cron up: customer_message_fallback.py)."""

    def _update_done_state(self):
        """Lines of finished messages changed after the fact (a bounce, an
        SMS delivery report): Sent with error while a line has failed, else
        Sent."""
        for message in self.filtered(lambda m: m.state in ("sent", "error")):
            message.invalidate_recordset(["failed_count"])
            state = "error" if message.failed_count else "sent"
            if message.state != state:
                message.state = state
