import socket
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.customer_messages.tools import time_box

from .common import SendingCase


@tagged("customer_messages", "post_install", "-at_install")
class TestDelivery(SendingCase):
    """Temporary answers are tried again later, permanent ones are final,
    and an unreachable relay fails nobody: the way a mail system delivers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.carol = cls._create_customer(
            "Carol Person", customer_login="carol", email="carol@example.com"
        )
        cls.customers = cls.alice | cls.bob | cls.carol

    def _send(self, **values):
        return (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.customers, {"subject": "Hello", "channel": "email", **values}
            )
            .with_env(self.env)
        )

    def _next_try_comes(self, message):
        """Time passes until the deferred emails are due, then the cron runs."""
        mails = message.recipient_ids.mail_mail_id.sudo()
        mails.filtered(lambda mail: mail.state == "outgoing").scheduled_date = (
            fields.Datetime.now() - timedelta(seconds=1)
        )
        self.env["customer.message"]._cron_process()

    def _closed_port(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]  # nobody listens there once closed

    def test_greylisted_then_delivered(self):
        self.smtp_handler.deferred.add("bob@example.com")
        message = self._send()
        line = self._line(message, self.bob)
        self.assertEqual(len(self.received()), 2, "the others went")
        self.assertEqual(line.state, "processing")
        self.assertEqual(line.delivery_attempts, 1)
        self.assertIn("451 4.7.1 Greylisted", line.last_answer)
        self.assertTrue(line.next_try_date)
        self.assertEqual(message.state, "processing", "not Sent with error")
        # the first retry waits minutes (Postfix's spirit), not seconds
        self.assertGreaterEqual(
            line.next_try_date, fields.Datetime.now() + timedelta(minutes=4)
        )

        self._next_try_comes(message)  # still greylisted: waits longer
        self.assertEqual(line.delivery_attempts, 2)
        self.smtp_handler.deferred.clear()
        self._next_try_comes(message)
        self.assertEqual(len(self.received("bob@example.com")), 1)
        self.assertEqual(line.state, "sent")
        self.assertEqual(message.state, "sent")

    def test_permanent_answer_is_final(self):
        self.smtp_handler.refused.add("bob@example.com")
        message = self._send()
        self.assertLines(message, {self.bob: ("error", "550 5.1.1")})
        self.assertEqual(message.state, "error")

    def test_gives_up_after_the_lifetime(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.retry_lifetime", "60"
        )
        self.smtp_handler.deferred.add("bob@example.com")
        message = self._send()
        line = self._line(message, self.bob)
        self.assertEqual(line.state, "processing")
        # an hour later, greylisted still
        self.env.cr.execute(
            "UPDATE mail_mail SET create_date = create_date - interval '1 hour' "
            "WHERE id = %s",
            [line.mail_mail_id.id],
        )
        line.mail_mail_id.invalidate_recordset()
        self._next_try_comes(message)
        self.assertEqual(line.state, "error")
        self.assertIn("Gave up after 2 attempts: ", line.failure_reason)
        self.assertIn("451", line.failure_reason)
        self.assertEqual(message.state, "error")

    @mute_logger("odoo.addons.customer_messages.models.mail_mail_sending")
    def test_relay_down_fails_nobody(self):
        self.mail_server.smtp_port = self._closed_port()
        message = self._send()
        lines = message.recipient_ids
        self.assertEqual(set(lines.mapped("state")), {"processing"})
        self.assertEqual(message.state, "processing")
        self.assertIn("ConnectionRefusedError", lines[0].last_answer)
        self.assertFalse(self.smtp_handler.messages)
        # the relay is back: delivery resumes at the next try
        self.mail_server.smtp_port = self.smtp_port
        self._next_try_comes(message)
        self.assertEqual(
            sorted(
                rcpt for item in self.smtp_handler.messages for rcpt in item["rcpt_tos"]
            ),
            sorted(self.customers.mapped("email")),
        )
        self.assertEqual(message.state, "sent")

    @mute_logger("odoo.addons.customer_messages.models.mail_mail_sending")
    def test_failover_to_the_next_server(self):
        """The first server (by sequence) refuses connections: the next one
        allowed for the sender takes over."""
        self.mail_server.sequence = 20
        self.env["ir.mail_server"].create(
            {
                "name": "Down",
                "smtp_host": "127.0.0.1",
                "smtp_port": self._closed_port(),
                "smtp_encryption": "none",
                "sequence": 10,
            }
        )
        message = self._send()
        self.assertEqual(len(self.received()), 3)
        self.assertEqual(message.state, "sent")

    def test_a_crashing_email_fails_alone(self):
        MailMail = type(self.env["mail.mail"])
        original = MailMail._prepare_outgoing_list

        def crash_for_bob(mail, *args, **kwargs):
            if mail.recipient_ids == self.bob:
                raise ValueError("a poison email")
            return original(mail, *args, **kwargs)

        with patch.object(MailMail, "_prepare_outgoing_list", crash_for_bob):
            message = self._send()
        self.assertLines(message, {self.bob: ("error", "a poison email")})
        self.assertEqual(len(self.received()), 2)

    def test_cancel_while_sending(self):
        """Staff cancel while a worker sends a chunk: its emails finish as
        sent, the others are cancelled and never sent. No line ends both
        cancelled and received."""
        message = self._send(scheduled_date=fields.Datetime.now() + timedelta(days=1))
        message.state = "processing"
        message._queue_batch(message.recipient_ids)
        lines = message.recipient_ids.sorted("id")
        in_flight = lines[:1].mail_mail_id.sudo()._claim_for_sending()
        message.with_user(self.user_sender).action_cancel()
        self.assertEqual(lines[0].state, "processing", "its email is being sent")
        self.assertEqual(set(lines[1:].mapped("state")), {"cancelled"})
        in_flight._deliver_claimed(in_flight._get_retry_settings())
        self.env["customer.message"]._cron_process()
        received = {
            rcpt for item in self.smtp_handler.messages for rcpt in item["rcpt_tos"]
        }
        self.assertEqual(received, {lines[0].email})
        self.assertEqual(lines[0].state, "sent")
        for line in lines:
            self.assertFalse(
                line.state == "cancelled" and line.email in received, line.email
            )


@tagged("customer_messages", "post_install", "-at_install")
class TestCronTimeLimit(SendingCase):
    """A slow relay never gets a cron worker killed: the sending crons stop
    well before the worker's real-time limit and run again at once for the
    rest. (A real multi-process server with a small limit_time_real_cron:
    dev/delivery-check, scenario slowrelay.)"""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customers = cls.alice | cls.bob
        for index in range(4):
            cls.customers |= cls._create_customer(
                f"Slow Person {index}",
                customer_login=f"slow{index}",
                email=f"slow{index}@example.com",
            )
        cls.cron = cls.env.ref("customer_messages.ir_cron_customer_message_process")

    def _cron_turn(self):
        """One turn of a cron worker running the processing cron."""
        time_box.start_turn(object())  # a new turn: the clock starts
        self.env["customer.message"].with_context(cron_id=self.cron.id)._cron_process()

    def _triggered_now(self):
        return self.env["ir.cron.trigger"].search(
            [
                ("cron_id", "=", self.cron.id),
                ("call_at", "<=", fields.Datetime.now() + timedelta(seconds=1)),
            ]
        )

    def test_time_limit_read_from_odoo_configuration(self):
        for options, budget in (
            ({"limit_time_real_cron": 20, "limit_time_real": 120}, 10),
            ({"limit_time_real_cron": -1, "limit_time_real": 60}, 30),
            ({"limit_time_real_cron": 0, "limit_time_real": 60}, 30),
            ({"limit_time_real_cron": 2000, "limit_time_real": 60}, time_box.MAX_RUN),
            ({"limit_time_real_cron": -1, "limit_time_real": 0}, time_box.MAX_RUN),
        ):
            with patch.object(time_box, "config", options):
                self.assertEqual(time_box.run_budget(), budget, options)
        # outside a cron job (a request): never cut short
        time_box.start_turn(object())
        with patch.object(time_box, "run_budget", return_value=0):
            self.assertFalse(time_box.expired(self.env))
            self.assertTrue(time_box.expired(self.env(context={"cron_id": 1})))

    def test_slow_relay_cron_yields_and_continues(self):
        """A relay answering each email in 0.3 s and a worker allowed 0.5 s:
        the first run stops after an email or two and triggers itself; the
        next runs send the rest, everyone once."""
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.customers, {"subject": "Hello", "channel": "email"}, "cron"
            )
            .with_env(self.env)
        )
        self.smtp_handler.delay = 0.3
        self._triggered_now().unlink()
        with patch.object(time_box, "run_budget", return_value=0.5):
            self._cron_turn()
            self.assertLess(
                len(self.received()), len(self.customers), "stopped before the end"
            )
            self.assertEqual(message.state, "processing")
            self.assertTrue(self._triggered_now(), "runs again at once")
            for _turn in range(3 * len(self.customers)):
                if message.state != "processing":
                    break
                self._cron_turn()
        self.assertEqual(message.state, "sent")
        self.assertEqual(set(message.recipient_ids.mapped("state")), {"sent"})
        addresses = [
            address
            for item in self.smtp_handler.messages
            for address in item["rcpt_tos"]
        ]
        self.assertEqual(sorted(addresses), sorted(self.customers.mapped("email")))
        # the mails not sent in a run were released, none left claimed
        self.assertFalse(
            message.recipient_ids.mail_mail_id.sudo().filtered(
                "customer_message_claim_pid"
            )
        )
