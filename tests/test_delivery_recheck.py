from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import FakeGateway, SendingCase, SMSGatewayCase


@tagged("customer_messages", "post_install", "-at_install")
class TestDeliveryRecheck(SendingCase):
    """Who may receive a message is checked again when its lines are
    claimed for delivery: customers blacklisted, opted out or whose address
    was suspended between Send and delivery (or before Retry failed) end
    Cancelled with the reason and get nothing; the others get it once."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.category = cls.env["customer.message.category"].create(
            {"name": "Newsletter", "allow_opt_out": True}
        )
        cls.crowd = cls.env["res.partner"].create(
            [
                {
                    "name": f"Recheck {index:02d}",
                    "email": f"recheck.{index:02d}@example.com",
                    "customer_status": "active",
                }
                for index in range(12)
            ]
        )

    def _send(self, customers, process="cron", **values):
        """Sent by a plain Messages / User, as the composer sends."""
        return (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                customers,
                {
                    "subject": "News",
                    "channel": "email",
                    "category_id": self.category.id,
                    **values,
                },
                process=process,
            )
            .with_env(self.env)
        )

    def _received_by(self):
        return sorted(
            rcpt for item in self.smtp_handler.messages for rcpt in item["rcpt_tos"]
        )

    def test_excluded_after_send(self):
        message = self._send(self.crowd)
        self.assertEqual(message.pending_count, 12, "all of them could receive it")
        blacklisted, opted_out, suspended = self.crowd[:3]
        # after Send, before the cron delivers
        self.env["mail.blacklist"]._add(blacklisted.email)
        self.env["customer.message.preference"].create(
            {
                "partner_id": opted_out.id,
                "category_id": self.category.id,
                "channel": "email",
            }
        )
        suspended._note_email_bounce("550 5.1.1 mailbox unavailable", hard=True)

        self.env["customer.message"]._cron_process()

        for partner, reason in (
            (blacklisted, "Excluded: email address blacklisted"),
            (opted_out, "Excluded: opted out of Newsletter messages"),
            (suspended, "Excluded: email address bounced"),
        ):
            line = self._line(message, partner)
            self.assertEqual(line.state, "cancelled", partner.name)
            self.assertEqual(line.failure_reason, reason)
            self.assertFalse(line.mail_mail_id, "no email was even made")
        # the positive twin: everybody else, once
        self.assertEqual(self._received_by(), sorted(self.crowd[3:].mapped("email")))
        self.assertEqual(message.sent_count, 9)
        self.assertEqual(message.cancelled_count, 3)
        self.assertEqual(message.state, "sent")

    def test_excluded_while_queued(self):
        """An email deferred by the server (greylisting) and tried again
        later: the customer blacklisted meanwhile gets nothing."""
        later, other = self.crowd[:2]
        self.smtp_handler.deferred = {later.email, other.email}
        message = self._send(later | other, process="now")
        self.assertEqual(self._line(message, later).state, "processing")
        self.assertFalse(self.smtp_handler.messages)
        self.smtp_handler.deferred.clear()
        self.env["mail.blacklist"]._add(later.email)
        # the next try is due
        message.recipient_ids.mail_mail_id.scheduled_date = fields.Datetime.now()

        self.env["customer.message"]._cron_process()

        line = self._line(message, later)
        self.assertEqual(line.state, "cancelled")
        self.assertEqual(line.failure_reason, "Excluded: email address blacklisted")
        self.assertEqual(self._received_by(), [other.email], "the other one, once")
        self.assertEqual(self._line(message, other).state, "sent")
        self.assertEqual(message.state, "sent")

    def test_retry_failed_rechecks(self):
        refused = self.crowd[:10]
        self.smtp_handler.refused = set(refused.mapped("email"))
        with mute_logger("odoo.addons.mail.models.mail_mail"):
            message = self._send(refused, process="now")
        self.assertEqual(message.failed_count, 10)
        self.assertTrue(all(refused.mapped("email_suppressed")), "550: suspended")
        self.smtp_handler.refused.clear()
        # staff checked five of the addresses: they get emails again
        checked = refused[:5]
        checked.with_user(self.user_sender).action_retry_email_address()

        message.with_user(self.user_sender).action_retry_failed()
        self.env["customer.message"]._cron_process()

        self.assertEqual(self._received_by(), sorted(checked.mapped("email")))
        for partner in refused - checked:
            line = self._line(message, partner)
            self.assertEqual(line.state, "cancelled", partner.name)
            self.assertEqual(line.failure_reason, "Excluded: email address bounced")
            self.assertIn("550", line.previous_failures, "the failure is kept")
        for partner in checked:
            self.assertEqual(self._line(message, partner).state, "sent")
        self.assertEqual(message.state, "sent")

    def test_test_message_not_rechecked(self):
        """A test to a staff address is not the customer's email: the
        customer blacklisted does not stop it (no rule applies to tests)."""
        partner = self.crowd[0]
        self.env["mail.blacklist"]._add(partner.email)
        message = self._send(
            partner, process="now", origin="test", test_email="staff@example.com"
        )
        self.assertEqual(message.state, "sent")
        self.assertEqual(self._received_by(), ["staff@example.com"])


@tagged("customer_messages", "post_install", "-at_install")
class TestSmsDeliveryRecheck(SMSGatewayCase):
    """An SMS tried again later by Odoo's SMS queue goes through the same
    gate: a customer who sent STOP meanwhile gets nothing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        belgium = cls.env.ref("base.be")
        cls.alice = cls._create_customer(
            "Alice Person", phone="+32 470 12 34 56", country_id=belgium.id
        )
        cls.bob = cls._create_customer(
            "Bob Person", phone="+32 470 65 43 21", country_id=belgium.id
        )

    @mute_logger("odoo.addons.iap.tools.iap_tools", "odoo.tools.translate")
    def test_stop_before_the_next_try(self):
        params = self.env["ir.config_parameter"].sudo()
        endpoint = params.get_param("sms.endpoint")
        params.set_param("sms.endpoint", "http://127.0.0.1:9")  # nobody there
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.alice | self.bob, {"subject": "Outage", "channel": "sms"}
            )
            .with_env(self.env)
        )
        self.assertEqual(message.recipient_ids.mapped("state"), ["processing"] * 2)
        # Alice answers STOP before the next try
        self.env["phone.blacklist"].sudo()._add(["+32470123456"])
        params.set_param("sms.endpoint", endpoint)  # back

        message.recipient_ids.sms_id._send(unlink_failed=False, unlink_sent=True)

        alice_line = message.recipient_ids.filtered(
            lambda r: r.partner_id == self.alice
        )
        self.assertEqual(alice_line.state, "cancelled")
        self.assertIn("blacklisted (the customer sent STOP)", alice_line.failure_reason)
        self.assertTrue(alice_line.failure_reason.startswith("Excluded: "))
        # the positive twin: Bob gets it, once
        self.assertEqual(
            [number for _path, number, _content in FakeGateway.received],
            ["+32470654321"],
        )
        self.assertEqual(message.state, "sent")
