from datetime import timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tools import SQL

from .common import SendingCase


@tagged("customer_messages", "post_install", "-at_install")
class TestAutomatedLimits(SendingCase):
    """Idempotency keys and the daily cap of automated messages, as an
    integrator's code sends them (a plain Messages / User)."""

    def _send(self, partners, subject, key=None, origin="automated"):
        return (
            self.env["customer.message"]
            .with_user(self.user_messages)
            ._send_to_customers(
                partners,
                {
                    "subject": subject,
                    "body_html": "<p>Dear <t t-out='object.name'/></p>",
                    "channel": "email",
                    "origin": origin,
                },
                key=key,
            )
        )

    def _age(self, message, hours):
        # sql: the message made earlier, as if time had passed
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE customer_message SET create_date = %s WHERE id = %s",
                fields.Datetime.now() - timedelta(hours=hours),
                message.id,
            )
        )
        message.invalidate_recordset(["create_date"])

    def test_same_key_sends_once(self):
        first = self._send(self.alice, "Your outage notice", key="outage-42")
        self.assertEqual(first.idempotency_key, "outage-42")
        self.assertEqual(len(self.received("alice@example.com")), 1)

        again = self._send(self.alice | self.bob, "Your outage notice", key="outage-42")
        self.assertEqual(again, first, "the first message is returned")
        self.assertEqual(len(self.received("alice@example.com")), 1)
        self.assertFalse(self.received("bob@example.com"), "nothing sent again")

        other = self._send(self.bob, "Another notice", key="outage-43")
        self.assertNotEqual(other, first)
        self.assertEqual(len(self.received("bob@example.com")), 1)

        # a day later the key is free again; the first message gives it up
        self._age(first, 25)
        later = self._send(self.alice, "Your outage notice", key="outage-42")
        self.assertNotEqual(later, first)
        self.assertEqual(later.idempotency_key, "outage-42")
        self.assertFalse(first.idempotency_key)
        self.assertEqual(len(self.received("alice@example.com")), 2)

    def test_daily_cap_of_automated_messages(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.daily_automated_limit", "2"
        )
        self._send(self.alice, "Reminder 1")
        self._send(self.alice, "Reminder 2")
        third = self._send(self.alice | self.bob, "Reminder 3")
        line = third.recipient_ids.filtered(lambda r: r.partner_id == self.alice)
        self.assertEqual(line.state, "cancelled")
        self.assertEqual(
            line.failure_reason,
            "Excluded: already got 2 automated messages in 24 hours",
        )
        self.assertEqual(
            [email["Subject"] for email in self.received("alice@example.com")],
            ["Reminder 1", "Reminder 2"],
        )
        self.assertEqual(len(self.received("bob@example.com")), 1, "Bob is below it")

        # staff's own messages are never capped
        manual = self._send(self.alice, "A word from us", origin="manual")
        self.assertEqual(manual.recipient_ids.state, "sent")

        # messages of more than 24 hours ago no longer count
        for message in self.env["customer.message"].search(
            [("subject", "in", ("Reminder 1", "Reminder 2"))]
        ):
            self._age(message, 25)
        # sql: the lines were made with their message
        self.env.cr.execute(
            SQL(
                "UPDATE customer_message_recipient SET create_date = %s "
                "WHERE message_id IN (SELECT id FROM customer_message "
                "WHERE subject IN ('Reminder 1', 'Reminder 2'))",
                fields.Datetime.now() - timedelta(hours=25),
            )
        )
        fourth = self._send(self.alice, "Reminder 4")
        self.assertEqual(fourth.recipient_ids.state, "sent")

        # 0: no cap
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.daily_automated_limit", "0"
        )
        for index in range(3):
            message = self._send(self.alice, f"Burst {index}")
            self.assertEqual(message.recipient_ids.state, "sent")
