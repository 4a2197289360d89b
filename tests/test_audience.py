from odoo.models import LOG_ACCESS_COLUMNS
from odoo.tests import tagged
from odoo.tools import SQL

from .common import SendingCase


@tagged("customer_messages", "post_install", "-at_install")
class TestLineInsert(SendingCase):
    """The lines of a message are made in SQL (one INSERT ... SELECT per
    batch, customer_message_audience.py); its columns are derived from the
    fields of customer.message.recipient, so that each line holds what the
    ORM's ``create`` would have stored."""

    # the values given for each line; the other columns are the insert's job
    maxDiff = None

    GIVEN = (
        "message_id",
        "email",
        "phone",
        "state",
        "failure_reason",
        "done_date",
        "trigger_key",
        "scheduled_date",
        "address_partner_id",
    )

    def _send(self, partners):
        return (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                partners,
                {"subject": "Notice", "body_html": "<p>Hello</p>", "channel": "email"},
                process="cron",
            )
        )

    def _rows(self, lines):
        """{line id: {column: value}} of every column of the lines' table."""
        lines.env.flush_all()  # as their user: the ORM writes write_uid then
        self.env.cr.execute(
            SQL(
                "SELECT * FROM customer_message_recipient WHERE id IN %s",
                tuple(lines.ids),
            )
        )
        return {row["id"]: row for row in self.env.cr.dictfetchall()}

    def _assert_as_create(self, message):
        """Each line of the message holds in every column what ``create``
        stores for a line of the same values (another customer)."""
        # sudo: the lines are the system's; made as the user who sent
        Recipient = (
            self.env["customer.message.recipient"].with_user(self.user_sender).sudo()
        )
        lines = Recipient.search([("message_id", "=", message.id)], order="id")
        self.assertTrue(lines)
        sql_rows = self._rows(lines)
        for line in lines:
            twin_partner = self.env["res.partner"].create({"name": "Twin"})
            values = {
                fname: line._fields[fname].convert_to_write(line[fname], line)
                for fname in self.GIVEN
            }
            twin = Recipient.create({**values, "partner_id": twin_partner.id})
            sql_row = dict(sql_rows[line.id])
            orm_row = dict(self._rows(twin)[twin.id])
            for row in (sql_row, orm_row):
                del row["id"], row["partner_id"]
            self.assertEqual(
                set(sql_row),
                {
                    name
                    for name, field in Recipient._fields.items()
                    if field.store and field.column_type
                }
                - {"id", "partner_id"},
                "every stored field of the line is compared",
            )
            self.assertEqual(sql_row, orm_row, f"line of {line.state}")
        return lines

    def test_insert_sets_what_create_sets(self):
        nomail = self._create_customer("No Mail")
        lines = self._assert_as_create(self._send(self.alice | nomail))
        self.assertEqual(
            {line.partner_id: line.state for line in lines},
            {self.alice: "new", nomail: "cancelled"},
        )

    def test_field_with_default_is_set(self):
        """A field of the line that gets a default is set by the insert as by
        ``create``, without touching the query (two fields given defaults
        here, as a new field would have)."""
        Recipient = self.env["customer.message.recipient"]
        for fname, default in (
            ("delivery_attempts", lambda model: 3),
            ("last_answer", lambda model: "from a default"),
        ):
            field = Recipient._fields[fname]
            self.addCleanup(setattr, field, "default", field.default)
            field.default = default
        lines = self._assert_as_create(self._send(self.alice | self.bob))
        self.assertEqual(set(lines.mapped("delivery_attempts")), {3})
        self.assertEqual(set(lines.mapped("last_answer")), {"from a default"})

    def test_columns_derived_from_fields(self):
        """Without a default, a field is left to the database (NULL), as
        ``create`` leaves it; with one, or related, it is a column of the
        insert."""
        Recipient = self.env["customer.message.recipient"]
        columns = self.env["customer.message"]._get_line_columns(
            {"message_id": SQL("message.id")}, self.env.cr.now()
        )
        for name, field in Recipient._fields.items():
            if not (field.store and field.column_type) or name == "id":
                continue
            if field.default or field.related or name in LOG_ACCESS_COLUMNS:
                self.assertIn(name, columns)
        self.assertNotIn("delivery_attempts", columns)
        self.assertEqual(
            {"company_id", "channel", "origin", "message_date", "create_uid"}
            - set(columns),
            set(),
        )
