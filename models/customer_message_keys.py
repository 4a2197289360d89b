import psycopg2.errors

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain
from odoo.tools.misc import clean_context

from .customer_message_daily_cap import WINDOW

# The fields of a message that only the system sets: never taken from the
# values the sending code gives (see _create_message).
SYSTEM_FIELDS = frozenset(
    {
        "state",
        "done_date",
        "due_date",
        "idempotency_key",
        "idempotency_origin",
        "approved_uid",
        "approved_date",
        "pending_partner_list",
        "pending_partner_done",
    }
)


class CustomerMessage(models.Model):
    """How a history entry comes into being, and its idempotency key: the
    one place that makes messages (``_create_message``, called by the
    sending path ``_send_to_customers`` only) and that sets and checks the
    keys (``_get_message_by_key``).

    Users have no create right on messages: whatever an RPC call asks, a
    message in the history is one the sending path recorded, after its
    checks. A key belongs to a company and to the record that sends (an
    incident, a recurring message, the message a fallback or a reminder
    follows; none for integrators' code): a key on another company's or
    another record's message never suppresses a send."""

    _inherit = "customer.message"

    idempotency_key = fields.Char(
        copy=False,
        readonly=True,
        help="The key the code that sent it gave: the same key within 24 hours "
        "returns this message and sends nothing again.",
    )
    idempotency_origin = fields.Char(
        string="Key of",
        copy=False,
        readonly=True,
        help="The record the idempotency key belongs to (model,id), if any.",
    )

    # one message per live key, company and sending record; a key older than
    # the window is released (_get_message_by_key) before it is given again
    _idempotency_key_uniq = models.UniqueIndex(
        "(company_id, COALESCE(idempotency_origin, ''), idempotency_key) "
        "WHERE idempotency_key IS NOT NULL",
        "A message with this idempotency key is being sent already.",
    )

    @api.model
    def _get_key_origin(self, record):
        """The record a key belongs to, as stored on the message."""
        if not record:
            return False
        record.ensure_one()
        return f"{record._name},{record.id}"

    @api.model
    def _get_message_by_key(self, key, company=None, key_origin=None):
        """The message sent with the key within the window, by the same
        company and the same record, or an empty recordset; an older one
        gives the key up.

        :param company: the sending company (the current one by default)
        :param key_origin: the record that sends (see _send_to_customers)
        """
        company = company or self.env.company
        # sudo: the key is the caller's, in its own company and for its own
        # record: whoever gave it gets the message
        found = self.sudo().search(
            Domain("idempotency_key", "=", key)
            & Domain("company_id", "=", company.id)
            & Domain("idempotency_origin", "=", self._get_key_origin(key_origin)),
            limit=1,
        )
        if found and found.create_date < fields.Datetime.now() - WINDOW:
            found.idempotency_key = False
            found.flush_recordset(["idempotency_key"])
            found = self.browse()
        return found.with_env(self.env)

    @api.model
    def _create_message(self, values, key=None, key_origin=None):
        """Record the message of the sending path (``_send_to_customers``),
        the only way a message is made.

        The values are the sending code's: the system's fields (state, key,
        approval...) are dropped and the context's defaults ignored (a
        context comes with the RPC call). Then, as the real user, the
        message must be one they may read (a Messages / User of its company)
        and its content one they may write (only template editors write
        expressions beyond the customer's plain fields, see
        ``_has_unsafe_expression``): else nothing is recorded.
        """
        values = {
            fname: value
            for fname, value in values.items()
            if fname not in SYSTEM_FIELDS
        }
        # the current company as the user sees it (checked against theirs)
        values.setdefault("company_id", self.env.company.id)
        if key:
            values.update(
                idempotency_key=key,
                idempotency_origin=self._get_key_origin(key_origin),
            )
        # the whole context replaced: the defaults are left out of it
        Message = self.with_context(clean_context(self.env.context))  # pylint: disable=context-overridden
        try:
            with self.env.cr.savepoint():
                # sudo: users have no create right on messages; the message
                # is checked as the user right below, before it is kept
                message = Message.sudo().create(values).with_env(Message.env)
                message.check_access("read")
                message._check_access_right_dynamic_template()
                message._hook_message_created()
        except psycopg2.errors.UniqueViolation as error:
            # another transaction is sending with the same key right now
            raise UserError(
                self.env._(
                    "A message with the key %(key)s is being sent already.", key=key
                )
            ) from error
        return message
