import psycopg2.errors

from odoo import fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL


class CustomerMessageComposer(models.TransientModel):
    """A composition sends once: its Send locks the composition's row and
    records the message it made, so that a second Send (a double click, two
    tabs, a script calling it twice), at the same moment or later, makes no
    second message: it opens the first one, or says that it is being sent
    while the first Send is still running."""

    _inherit = "customer.message.composer"

    sent_message_id = fields.Many2one(
        "customer.message",
        string="Sent message",
        readonly=True,
        ondelete="set null",
        help="The message this composition made when it was sent.",
    )

    def _lock_for_sending(self):
        """Claim the composition for its Send, for the rest of the
        transaction, and return the message it made already (or an empty
        recordset: this Send makes it).

        :raise UserError: another Send of it is running right now
        """
        self.ensure_one()
        # a message this transaction made is in the row read below
        self.flush_recordset(["sent_message_id"])
        try:
            with self.env.cr.savepoint(flush=False):
                # sql: a row lock without waiting (NOWAIT): a second Send
                # while the first one runs is told at once rather than made
                # to wait; the conflict is expected, not a bad query for the
                # log. A Send that began before the first one committed gets
                # a serialization failure instead, which Odoo's request
                # handling retries: the retry finds the message made.
                self.env.cr.execute(
                    SQL(
                        "SELECT sent_message_id FROM %s WHERE id = %s "
                        "FOR NO KEY UPDATE NOWAIT",
                        SQL.identifier(self._table),
                        self.id,
                    ),
                    log_exceptions=False,
                )
                row = self.env.cr.fetchone()
        except psycopg2.errors.LockNotAvailable as error:
            raise UserError(
                self.env._(
                    "This message is being sent already (Send was clicked "
                    "twice): it will be in the history of messages in a moment."
                )
            ) from error
        self.invalidate_recordset(["sent_message_id"])
        return self.env["customer.message"].browse(row and row[0])
