from odoo.tests import tagged

from ..tools import delivery
from . import provider_reports
from .common import SendingCase


@tagged("customer_messages", "post_install", "-at_install")
class TestDeliveryReports(SendingCase):
    """Delivery reports (RFC 3464) as Gmail, Outlook and Postfix send them,
    fed through Odoo's mail gateway: their status read with the one table of
    tools/delivery.py that also reads SMTP answers while sending."""

    def _send(self, customers):
        return (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(customers, {"subject": "Hello", "channel": "email"})
            .with_env(self.env)
        )

    def _sent_to(self, customer):
        message = self._send(customer)
        return message, self.received(customer.email)[-1]

    def _process(self, raw):
        self.env["mail.thread"].message_process(False, raw)
        self.env.invalidate_all()

    def test_one_table_for_answers_and_reports(self):
        """The codes of the issue, classified once."""
        for code, kind in (
            ("5.1.1", "hard"),
            ("5.1.10", "hard"),
            ("4.2.2", "soft"),
            ("5.2.2", "soft"),
            ("5.7.26", "sender"),
            ("5.7.28", "sender"),
            ("5.7.515", "sender"),
            ("5.7.1", "sender"),
            ("4.4.1", "soft"),
        ):
            self.assertEqual(delivery.classify_status(code)[0], kind, code)
        self.assertIsNone(delivery.classify_status("2.0.0"))
        self.assertEqual(delivery.sender_fault("550 5.7.515 Access denied"), "5.7.515")
        self.assertIsNone(delivery.sender_fault("550 5.1.1 User unknown"))

    def test_gmail_unknown_user_is_a_hard_bounce(self):
        message, sent = self._sent_to(self.alice)
        self._process(
            provider_reports.gmail_dsn(
                sent,
                "alice@example.com",
                "5.1.1",
                "550-5.1.1 The email account that you tried to reach does not "
                "exist. Please try double-checking the recipient's email address",
            )
        )
        line = self._line(message, self.alice)
        self.assertEqual(line.state, "error")
        self.assertIn("Hard bounce (5.1.1", line.failure_reason)
        self.assertTrue(self.alice.email_suppressed)
        self.assertIn("does not exist", self.alice.email_bounce_reason)
        # its twin: the other customer is untouched
        self.assertFalse(self.bob.message_bounce)

    def test_mailbox_full_is_a_soft_bounce(self):
        """4.2.2 (and 5.2.2, which some servers give for the same) counts
        one bounce, without suspending the address."""
        message, sent = self._sent_to(self.alice)
        self._process(
            provider_reports.gmail_dsn(
                sent,
                "alice@example.com",
                "4.2.2",
                "452-4.2.2 The recipient's inbox is out of storage space",
            )
        )
        self.assertEqual(self._line(message, self.alice).state, "error")
        self.assertEqual(self.alice.message_bounce, 1)
        self.assertFalse(self.alice.email_suppressed)
        self.assertIn("mailbox is full", self.alice.email_bounce_reason)

        message, sent = self._sent_to(self.bob)
        self._process(
            provider_reports.postfix_dsn(
                sent, "bob@example.com", "5.0.0", "552 5.2.2 Mailbox full"
            )
        )
        self.assertEqual(self.bob.message_bounce, 1)
        self.assertFalse(self.bob.email_suppressed)

        # the same at sending time: a 552 5.2.2 answer is soft too
        self.smtp_handler.full.add("alice@example.com")
        self.alice.message_bounce = 0
        message = self._send(self.alice)
        self.assertEqual(self._line(message, self.alice).state, "error")
        self.assertEqual(self.alice.message_bounce, 1)
        self.assertFalse(self.alice.email_suppressed)

    def test_postfix_unknown_user_behind_a_generic_status(self):
        """Status 5.0.0, the code in the Diagnostic-Code: 5.1.1, hard."""
        message, sent = self._sent_to(self.bob)
        self._process(
            provider_reports.postfix_dsn(
                sent,
                "bob@example.com",
                "5.0.0",
                "550 5.1.1 <bob@example.com>: Recipient address rejected: "
                "User unknown in virtual mailbox table",
            )
        )
        line = self._line(message, self.bob)
        self.assertIn("Hard bounce (5.1.1", line.failure_reason)
        self.assertTrue(self.bob.email_suppressed)

    def test_sender_refusals_of_gmail_and_outlook(self):
        """5.7.26, 5.7.28 (Gmail) and 5.7.515 (Outlook): the line says the
        cause and what to fix, nothing counts against the customer."""
        cases = (
            (
                provider_reports.gmail_dsn,
                "5.7.26",
                "550-5.7.26 Unauthenticated email from example.com is not "
                "accepted due to domain's DMARC policy. Please contact the "
                "administrator of example.com domain",
                "DMARC",
            ),
            (
                provider_reports.gmail_dsn,
                "5.7.28",
                "550-5.7.28 [192.0.2.25] Our system has detected an unusual "
                "rate of unsolicited mail originating from your IP address",
                "unusual rate of unsolicited mail",
            ),
            (
                provider_reports.outlook_ndr,
                "5.7.515",
                "550 5.7.515 Access denied, sending domain [EXAMPLE.COM] "
                "doesn't meet the required authentication level",
                "required authentication level",
            ),
        )
        for build, code, diagnostic, cause in cases:
            with self.subTest(code=code):
                message, sent = self._sent_to(self.alice)
                self._process(build(sent, "alice@example.com", code, diagnostic))
                line = self._line(message, self.alice)
                self.assertEqual(line.state, "error")
                self.assertIn("because of the sender", line.failure_reason)
                self.assertIn(code, line.failure_reason)
                self.assertIn(cause, line.failure_reason)
                self.assertIn("To fix:", line.failure_reason)
                self.assertEqual(self.alice.message_bounce, 0)
                self.assertFalse(self.alice.email_suppressed)

    def test_delay_notice_is_no_bounce(self):
        """Action: delayed (a relay still trying): nothing changes; the
        same report with Action: failed counts."""
        message, sent = self._sent_to(self.alice)
        self.assertEqual(self._line(message, self.alice).state, "sent")
        self._process(
            provider_reports.postfix_dsn(
                sent,
                "alice@example.com",
                "4.4.1",
                "connect to mx.example.com[192.0.2.1]:25: Connection timed out",
                action="delayed",
            )
        )
        self.assertEqual(self._line(message, self.alice).state, "sent")
        self.assertEqual(self.alice.message_bounce, 0)
        self._process(
            provider_reports.postfix_dsn(
                sent,
                "alice@example.com",
                "4.4.1",
                "connect to mx.example.com[192.0.2.1]:25: Connection timed out",
            )
        )
        self.assertEqual(self._line(message, self.alice).state, "error")
        self.assertEqual(self.alice.message_bounce, 1)
