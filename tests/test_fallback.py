from odoo.tests import new_test_user, tagged

from .common import FakeGateway, SendingCase, SMSGatewayCase


@tagged("customer_messages", "post_install", "-at_install")
class TestFallback(SMSGatewayCase, SendingCase):
    """The customers a message does not reach get it on its fallback
    channel, once, by the fallback cron: real emails to the SMTP server on
    127.0.0.1, real SMS to the gateway stand-in."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice.phone = "+32 470 12 34 56"
        cls.bob.phone = "+32 470 65 43 21"
        cls.nomail = cls._create_customer("Nomail Person", phone="+32 470 11 22 33")

    def _send(self, partners, **values):
        return (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                partners,
                {
                    "subject": "Your router is ready",
                    "body_html": "<p>Pick it up at the shop.</p>",
                    "sms_body": "Your router is ready: pick it up at the shop.",
                    "fallback_channel": "sms",
                    **values,
                },
            )
        )

    def _run_fallback_cron(self):
        self.env["customer.message"]._cron_send_fallbacks()
        self.env["customer.message"]._cron_process()

    def test_no_email_address_falls_back_to_sms(self):
        message = self._send(self.alice | self.nomail)
        self.assertEqual(message.state, "sent")
        self.assertEqual(len(self.received("alice@example.com")), 1)
        self.assertLines(message, {self.nomail: ("cancelled", "no email address")})
        nomail_line = self._line(message, self.nomail)
        self.assertFalse(FakeGateway.received)
        trigger = self.env["ir.cron.trigger"].search(
            [
                (
                    "cron_id",
                    "=",
                    self.env.ref(
                        "customer_messages.ir_cron_customer_message_fallback"
                    ).id,
                )
            ]
        )
        self.assertTrue(trigger, "the fallback cron is woken when the message ends")

        self._run_fallback_cron()
        self.assertEqual(
            [(number, text) for _path, number, text in FakeGateway.received],
            [("+32470112233", "Your router is ready: pick it up at the shop.")],
        )
        fallback = message.fallback_ids
        self.assertEqual(fallback.channel, "sms")
        self.assertEqual(fallback.fallback_of_id, message)
        self.assertEqual(fallback.recipient_ids.partner_id, self.nomail)
        self.assertEqual(nomail_line.fallback_line_id, fallback.recipient_ids)
        self.assertEqual(fallback.recipient_ids.state, "sent")

        # once: another run sends nothing again
        self._run_fallback_cron()
        self.assertEqual(len(FakeGateway.received), 1)
        self.assertEqual(len(self.smtp_handler.messages), 1)

    def test_portal_unread_after_hours(self):
        for partner in self.alice | self.bob:
            new_test_user(
                self.env,
                login=f"portal_{partner.customer_login}",
                groups="base.group_portal",
                partner_id=partner.id,
            )
        message = self._send(
            self.alice | self.bob | self.nomail, channel="portal", fallback_hours=24
        )
        self.assertEqual(message.state, "sent")
        line_alice, line_bob = (
            message.sudo().recipient_ids.filtered(
                lambda line, p=p: line.partner_id == p
            )
            for p in (self.alice, self.bob)
        )
        line_alice._mark_read()
        self._run_fallback_cron()
        self.assertFalse(FakeGateway.received, "not before the hours have passed")

        # a day later (time moved back in the database)
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE customer_message_recipient SET sent_date = sent_date - "
            "interval '25 hours' WHERE message_id = %s",
            (message.id,),
        )
        self.env.cr.execute(
            "UPDATE customer_message SET done_date = done_date - interval '25 hours' "
            "WHERE id = %s",
            (message.id,),
        )
        self.env.invalidate_all()
        self._run_fallback_cron()
        self.assertEqual(
            sorted(number for _path, number, _text in FakeGateway.received),
            ["+32470112233", "+32470654321"],
            "Bob did not read it, Nomail has no portal access; Alice read it",
        )
        self.assertTrue(line_bob.fallback_line_id)
        self.assertFalse(line_alice.fallback_line_id)

    def test_without_fallback(self):
        """Without a fallback channel, the customer the email does not reach
        gets nothing more; its twin, the same message with a fallback
        channel, reaches them by SMS (so this test fails when the fallback
        cron, or the sending, does nothing)."""
        for fallback_channel, texted in ((False, []), ("sms", ["+32470112233"])):
            with self.subTest(fallback_channel=fallback_channel):
                FakeGateway.received.clear()
                self.smtp_handler.messages.clear()
                message = self._send(
                    self.alice | self.nomail, fallback_channel=fallback_channel
                )
                self.assertLines(
                    message,
                    {
                        self.alice: ("sent", None),
                        self.nomail: ("cancelled", "no email address"),
                    },
                )
                self.assertEqual(len(self.received("alice@example.com")), 1)
                self._run_fallback_cron()
                self.assertEqual(
                    [number for _path, number, _text in FakeGateway.received], texted
                )
                self.assertEqual(len(message.fallback_ids), len(texted))
