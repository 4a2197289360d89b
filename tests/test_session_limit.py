import psycopg2

from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import SendingCase


@tagged("customer_messages", "post_install", "-at_install")
class TestSessionLimit(SendingCase):
    """An outgoing server's Emails per connection: the sender reconnects
    after N emails, counted on the SMTP recorder's sessions."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls.alice | cls.bob
        for index in range(3):
            cls.customers |= cls._create_customer(
                f"Customer {index}", email=f"customer{index}@example.com"
            )

    def _send(self):
        return (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.customers, {"subject": "Hello", "channel": "email"}
            )
            .with_env(self.env)
        )

    def test_reconnects_after_the_limit(self):
        self.mail_server.customer_messages_session_limit = 2
        message = self._send()
        self.assertEqual(self.smtp_handler.session_messages, [2, 2, 1])
        self.assertEqual(len(self.received()), 5)
        self.assertEqual(set(message.recipient_ids.mapped("state")), {"sent"})

    def test_no_limit_one_session(self):
        """The twin: no limit, the five emails share one session."""
        self.assertEqual(self.mail_server.customer_messages_session_limit, 0)
        message = self._send()
        self.assertEqual(self.smtp_handler.session_messages, [5])
        self.assertEqual(set(message.recipient_ids.mapped("state")), {"sent"})

    def test_limit_on_the_form(self):
        arch = self.env["ir.mail_server"].get_views([(False, "form")])["views"]["form"][
            "arch"
        ]
        self.assertIn("customer_messages_session_limit", arch)
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(psycopg2.errors.CheckViolation),
        ):
            self.mail_server.customer_messages_session_limit = -1
            self.mail_server.flush_recordset()
