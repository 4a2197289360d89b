from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import SendingCase

DELIVERY_REPORT = """From: MAILER-DAEMON@mx.example.net
To: isp@example.com
Subject: Undelivered Mail Returned to Sender
Message-Id: <bounce-{status}@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="XYZ"

--XYZ
Content-Type: text/plain

<alice@example.com>: host mx.example.com said: {answer}

--XYZ
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; alice@example.com
Action: failed
Status: {status}

--XYZ
Content-Type: text/rfc822-headers

Message-Id: {message_id}
From: isp@example.com
To: alice@example.com
Subject: Hello

--XYZ--
"""


@tagged("customer_messages", "post_install", "-at_install")
class TestBounces(SendingCase):
    """A hard bounce suspends the address, soft bounces count towards it,
    a later accepted email clears them; the customer form says so."""

    def _send(self, customers):
        return (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(customers, {"subject": "Hello", "channel": "email"})
            .with_env(self.env)
        )

    def test_refused_address_is_suspended(self):
        self.smtp_handler.refused.add("bob@example.com")
        message = self._send(self.alice | self.bob)
        self.assertLines(
            message, {self.alice: ("sent", None), self.bob: ("error", "550 5.1.1")}
        )
        self.assertTrue(self.bob.email_suppressed)
        self.assertGreaterEqual(self.bob.message_bounce, 3)
        self.assertIn("550 5.1.1", self.bob.email_bounce_reason)
        self.assertFalse(self.alice.message_bounce)

        self.smtp_handler.refused.clear()
        message = self._send(self.alice | self.bob)
        self.assertLines(
            message,
            {
                self.alice: ("sent", None),
                self.bob: ("cancelled", "email address bounced"),
            },
        )
        self.assertEqual(len(self.received("bob@example.com")), 0, "not tried again")
        self.assertEqual(len(self.received("alice@example.com")), 2)

        # staff correct the address: it gets emails again
        self.bob.email = "bob@example.net"
        self.assertFalse(self.bob.email_suppressed)
        self.assertFalse(self.bob.email_bounce_count, "the new address never bounced")
        self._send(self.bob)
        self.assertEqual(len(self.received("bob@example.net")), 1)

    def test_new_address_is_not_suspended(self):
        """The suspension holds the address that bounced, not the contact:
        a new address is sent to (Odoo's bounce counter is left as it is,
        no write of a contact resets it), the old one is suspended again."""
        self.smtp_handler.refused.add("bob@example.com")
        self._send(self.bob)
        self.assertTrue(self.bob.email_suppressed)
        bounces = self.bob.message_bounce
        self.assertGreaterEqual(bounces, 3)
        self.assertEqual(self.bob.email_bounced_address, "bob@example.com")
        Partner = self.env["res.partner"].with_user(self.user_sender)
        self.assertIn(self.bob, Partner.search([("email_suppressed", "=", True)]))

        self.bob.with_user(self.user_sender).email = "Bob <bob@example.net>"
        self.assertEqual(self.bob.message_bounce, bounces, "Odoo's counter untouched")
        self.assertFalse(self.bob.email_suppressed)
        self.assertNotIn(self.bob, Partner.search([("email_suppressed", "=", True)]))
        self.assertIn(self.bob, Partner.search([("email_suppressed", "=", False)]))
        message = self._send(self.bob)
        self.assertEqual(self._line(message, self.bob).state, "sent")
        self.assertEqual(len(self.received("bob@example.net")), 1)

        # its positive twin: back to the address that bounced, suspended
        self.bob.message_bounce = bounces
        self.bob.email = "bob@example.com"
        self.assertTrue(self.bob.email_suppressed)
        message = self._send(self.bob)
        line = self._line(message, self.bob)
        self.assertEqual(line.state, "cancelled")
        self.assertIn("email address bounced", line.failure_reason)

    def test_bounces_of_a_former_address_do_not_add_up(self):
        """A soft bounce of a new address is its first, whatever Odoo's
        counter held for the former one."""
        self.smtp_handler.refused.add("bob@example.com")
        self._send(self.bob)
        self.bob.email = "bob@example.net"
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("customer_messages.retry_lifetime", "0")
        self.smtp_handler.deferred.add("bob@example.net")  # 451, given up at once
        self._send(self.bob)
        self.assertEqual(self.bob.message_bounce, 1, "one soft bounce")
        self.assertEqual(self.bob.email_bounced_address, "bob@example.net")
        self.assertFalse(self.bob.email_suppressed)

    def test_soft_bounces_count_and_success_clears(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("customer_messages.retry_lifetime", "0")
        self.smtp_handler.deferred.add("bob@example.com")  # 451, given up at once
        message = self._send(self.bob)
        self.assertEqual(self._line(message, self.bob).state, "error")
        self.assertEqual(self.bob.message_bounce, 1, "one soft bounce")
        self.assertFalse(self.bob.email_suppressed)
        self.assertIn("Gave up after 1 attempts", self.bob.email_bounce_reason)

        self.smtp_handler.deferred.clear()
        self._send(self.bob)
        self.assertEqual(self.bob.message_bounce, 0, "accepted: cleared")

        # a relay that is down is nobody's bounce
        self.mail_server.smtp_port = 9
        message = self._send(self.bob)
        self.assertEqual(self._line(message, self.bob).state, "error")
        self.assertEqual(self.bob.message_bounce, 0)

        # soft bounces up to the limit suspend the address
        self.mail_server.smtp_port = self.smtp_port
        params.set_param("customer_messages.bounce_limit", "2")
        self.smtp_handler.deferred.add("bob@example.com")
        self._send(self.bob)
        self._send(self.bob)
        self.assertTrue(self.bob.email_suppressed)

    def test_delivery_reports(self):
        """An asynchronous bounce: permanent (5.x.x) suspends at once; a
        temporary one (4.x.x) is counted once, by Odoo."""
        self._send(self.alice)
        (sent,) = self.received("alice@example.com")
        report = DELIVERY_REPORT.format(
            status="4.2.2",
            answer="452 4.2.2 Mailbox full",
            message_id=sent["Message-Id"],
        )
        self.env["mail.thread"].message_process(False, report)
        self.assertEqual(self.alice.message_bounce, 1)
        self.assertFalse(self.alice.email_suppressed)
        self.assertIn("Mailbox full", self.alice.email_bounce_reason)

        self._send(self.alice)
        sent = self.received("alice@example.com")[-1]
        report = DELIVERY_REPORT.format(
            status="5.1.1",
            answer="550 5.1.1 User unknown",
            message_id=sent["Message-Id"],
        )
        self.env["mail.thread"].message_process(False, report)
        self.assertTrue(self.alice.email_suppressed)
        self.assertIn("User unknown", self.alice.email_bounce_reason)

    def test_sender_refused_is_not_the_customers_fault(self):
        """A server refusing the sender (550 5.7.26, DMARC) refuses every
        customer alike: the line fails saying what to fix, the address keeps
        its bounce count (a refused mailbox, 5.1.1, suspends it: see
        test_refused_address_is_suspended)."""
        self.smtp_handler.unauthenticated.add("bob@example.com")
        message = self._send(self.alice | self.bob)
        self.assertLines(
            message, {self.alice: ("sent", None), self.bob: ("error", "5.7.26")}
        )
        line = self._line(message, self.bob)
        self.assertIn("because of the sender", line.failure_reason)
        self.assertIn("SPF, DKIM and DMARC", line.failure_reason)
        self.assertIn("example.com", line.failure_reason)
        self.assertEqual(self.bob.message_bounce, 0)
        self.assertFalse(self.bob.email_suppressed)
        self.assertFalse(self.bob.email_bounce_reason)

        # the sending domain fixed: the next message reaches the customer
        self.smtp_handler.unauthenticated.clear()
        message = self._send(self.bob)
        self.assertLines(message, {self.bob: ("sent", None)})
        self.assertEqual(len(self.received("bob@example.com")), 1)

    def test_delivery_report_of_a_sender_refusal(self):
        """A delivery report with a 5.7.x status (the sender's SPF, DKIM,
        DMARC) fails the line with the reason and counts nothing against the
        address; the same report with 5.1.1 suspends it."""
        self._send(self.alice)
        (sent,) = self.received("alice@example.com")
        report = DELIVERY_REPORT.format(
            status="5.7.26",
            answer="550 5.7.26 Unauthenticated email from example.com is not "
            "accepted due to domain's DMARC policy",
            message_id=sent["Message-Id"],
        )
        self.env["mail.thread"].message_process(False, report)
        line = self.env["customer.message.recipient"].search(
            [("partner_id", "=", self.alice.id)]
        )
        self.assertEqual(line.state, "error")
        self.assertIn("because of the sender", line.failure_reason)
        self.assertIn("5.7.26", line.failure_reason)
        self.assertEqual(self.alice.message_bounce, 0)
        self.assertFalse(self.alice.email_suppressed)

        self._send(self.alice)
        sent = self.received("alice@example.com")[-1]
        report = DELIVERY_REPORT.format(
            status="5.1.1",
            answer="550 5.1.1 User unknown",
            message_id=sent["Message-Id"],
        )
        self.env["mail.thread"].message_process(False, report)
        self.assertTrue(self.alice.email_suppressed)

    def test_try_the_address_again(self):
        self.smtp_handler.refused.add("bob@example.com")
        self._send(self.bob)
        self.assertTrue(self.bob.email_suppressed)
        with self.assertRaises(AccessError):
            # may read contacts, not edit them
            self.bob.with_user(self.user_internal).action_retry_email_address()
        self.assertTrue(self.bob.email_suppressed)
        self.bob.with_user(self.user_sender).action_retry_email_address()
        self.assertFalse(self.bob.email_suppressed)
        self.assertEqual(self.bob.message_bounce, 0)

    def test_customer_form_shows_the_problem(self):
        self.smtp_handler.refused.add("bob@example.com")
        self._send(self.bob)
        arch = (
            self.env["res.partner"]
            .with_user(self.user_sender)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        self.assertIn("customer_messages_email_suppressed", arch)
        self.assertIn("action_retry_email_address", arch)
        (values,) = self.bob.with_user(self.user_sender).read(
            ["email_suppressed", "email_bounce_reason"]
        )
        self.assertTrue(values["email_suppressed"])
        self.assertIn("550 5.1.1", values["email_bounce_reason"])
