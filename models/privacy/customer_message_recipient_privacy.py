import re

from odoo import fields, models
from odoo.tools import SQL

# Personal values shorter than this are left in the reasons' texts: a
# two-letter name would replace every "to" of an SMTP answer.
MIN_SCRUB_LENGTH = 3


class CustomerMessageRecipient(models.Model):
    """Erasure of a customer's personal data without breaking the history.

    A line is never deleted for a privacy request: it keeps its message, its
    status, its dates and its place in the counts, and loses everything that
    ties it to the person (customer, contact, address, number, the content
    rendered for them, the queue records, the portal link). Odoo's privacy
    lookup calls ``_pseudonymize_personal_data`` instead of deleting (see
    models/privacy/privacy_lookup_wizard_line.py), and so does the deletion of a
    customer (res_partner_privacy.py).
    """

    _inherit = "customer.message.recipient"

    def _pseudonymize_personal_data(self, partners=None):
        """Erase the personal data of these lines, keeping the lines.

        :param partners: the persons whose data is erased (res.partner). The
            lines of these customers (and lines without a customer) are
            erased whole; a line found only because it went to one of them
            as the contact of another customer, or to their address, loses
            that contact and address only. None: every line is erased whole.
        """
        whole = self.filtered(
            lambda line: partners is None
            or not line.partner_id
            or line.partner_id in partners
        )
        whole._erase_whole()
        (self - whole)._erase_contact()

    def _erase_whole(self):
        lines = self.filtered(lambda line: not line.erased_date)
        if not lines:
            return
        customers = lines.partner_id
        # what is still to be sent to them is not sent: their lines not made
        # yet are forgotten, their pending lines cancelled
        self.env["customer.message"]._forget_pending_partners(customers)
        pending = lines.filtered(lambda line: line.state in ("new", "processing"))
        if pending:
            pending._action_cancel(
                self.env._("Cancelled: the customer's personal data was erased.")
            )
            pending.message_id._update_state()
        needles = {line: line._get_personal_values() for line in lines}
        lines._unlink_queue_records()
        lines._scrub_recipient_filters(needles)
        lines.write(
            {
                "partner_id": False,
                "address_partner_id": False,
                "subject": False,
                "body_html": False,
                "sms_body": False,
                "email_reference": False,
                "acknowledged_uid": False,
                "attachment_ids": [fields.Command.clear()],
                "mail_mail_id": False,
                "sms_id": False,
                "portal_message_id": False,
                "access_token": False,
                "erased_date": fields.Datetime.now(),
            }
        )
        lines._replace_personal_values(needles, email=True, phone=True)

    def _erase_contact(self):
        """The line went to the erased person as the contact (or address) of
        another customer: that customer's line keeps its content, the
        contact and the address go."""
        lines = self.filtered(lambda line: not line.erased_date)
        if not lines:
            return
        needles = {
            line: [
                line.email,
                line.address_partner_id.name,
                line.address_partner_id.email,
            ]
            for line in lines
        }
        lines._unlink_queue_records(email_only=True)
        lines.write(
            {
                "address_partner_id": False,
                "email_reference": False,
                "mail_mail_id": False,
            }
        )
        lines._replace_personal_values(needles, email=True, phone=False)

    def _get_personal_values(self):
        """The texts that name the customer of the line, to find in its
        reasons."""
        self.ensure_one()
        values = [self.email, self.phone]
        for partner in self.partner_id | self.address_partner_id:
            values += [partner.name, partner.email, partner.phone]
            values.append(partner.customer_login)
        return values

    def _unlink_queue_records(self, email_only=False):
        """The emails and SMS of the lines left in Odoo's queues (failed,
        cancelled: sent ones are deleted once sent) carry the address and the
        content: deleted, but for an email a worker is sending right now."""
        # sudo: queue records, readable by administrators only
        mails = self.sudo().mail_mail_id.filtered(
            lambda mail: mail.state != "outgoing"
            and not mail.customer_message_claim_pid
        )
        mails.unlink()
        if not email_only:
            self.sudo().sms_id.filtered(lambda sms: sms.state != "outgoing").unlink()

    def _scrub_recipient_filters(self, needles):
        """A message sent to this one customer says so in its filter
        ("Customer ID 7 (Alice Person)"): the name goes there too."""
        for message in self.message_id:
            lines = self.filtered(lambda line, m=message: line.message_id == m)
            if message.recipient_filter and message.recipient_count == len(lines):
                text = message.recipient_filter
                for line in lines:
                    text = _scrub(text, needles[line], line._get_erased_placeholder())
                if text != message.recipient_filter:
                    message.recipient_filter = text

    def _replace_personal_values(self, needles, email, phone):
        """The placeholder instead of the address and the number, and in the
        texts of the failures (an SMTP answer names the address)."""
        self.flush_recordset()
        columns = [
            name for name, wanted in (("email", email), ("phone", phone)) if wanted
        ]
        # sql: each line its own placeholder (its id), in one statement
        self.env.execute_query(
            SQL(
                "UPDATE %s SET %s WHERE id IN %s",
                SQL.identifier(self._table),
                SQL(", ").join(
                    SQL(
                        "%s = CASE WHEN COALESCE(%s, '') = '' THEN NULL "
                        "ELSE 'erased-' || id END",
                        SQL.identifier(column),
                        SQL.identifier(column),
                    )
                    for column in columns
                ),
                tuple(self.ids),
            )
        )
        self.invalidate_recordset(columns)
        for line in self:
            placeholder = line._get_erased_placeholder()
            values = {}
            for fname in ("failure_reason", "last_answer", "previous_failures"):
                text = _scrub(line[fname], needles[line], placeholder)
                if text != line[fname]:
                    values[fname] = text
            if values:
                line.write(values)


def _scrub(text, needles, placeholder):
    """The text with each of the personal values replaced, whatever their
    case."""
    if not text:
        return text
    for needle in sorted({n for n in needles if n}, key=len, reverse=True):
        if len(needle) >= MIN_SCRUB_LENGTH:
            text = re.sub(re.escape(needle), placeholder, text, flags=re.IGNORECASE)
    return text
