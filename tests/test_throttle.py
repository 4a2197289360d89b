import threading
import time
from datetime import timedelta
from unittest.mock import patch

from psycopg2 import IntegrityError

from odoo import SUPERUSER_ID, api, fields, sql_db
from odoo.exceptions import AccessError, ValidationError
from odoo.orm.environments import Transaction
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from odoo.addons.customer_messages.models.customer_message_throttle import Pacer

from .common import FakeGateway, SendingCase, SMSGatewayCase


@tagged("customer_messages", "post_install", "-at_install")
class TestEmailLimits(SendingCase):
    """Sending limits pace the emails; what is over a limit waits for its
    slot and is never failed. (Two real cron workers sharing one limit:
    dev/delivery-check, scenario throttle.)"""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.carol = cls._create_customer(
            "Carol Person", customer_login="carol", email="carol@example.org"
        )
        cls.dave = cls._create_customer(
            "Dave Person", customer_login="dave", email="dave@example.org"
        )
        cls.customers = cls.alice | cls.bob | cls.carol | cls.dave
        cls.Throttle = cls.env["customer.message.throttle"]

    def _send(self, customers=None):
        return (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                customers or self.customers, {"subject": "Hello", "channel": "email"}
            )
            .with_env(self.env)
        )

    def _time_passes(self, message):
        """The held emails' slots come: their limits are free again."""
        self.Throttle.search([]).next_slot = 0
        mails = message.recipient_ids.mail_mail_id.sudo()
        mails.filtered(
            lambda mail: mail.state == "outgoing"
        ).scheduled_date = fields.Datetime.now()
        self.env["customer.message"]._cron_send_emails()

    def test_slots_are_paced(self):
        """A limit of N per period gives one slot every period / N, to every
        worker in turn, and refuses a slot beyond the wait allowed."""
        throttle = self.Throttle.create(
            {"mail_server_id": self.mail_server.id, "max_count": 60}
        )
        start = time.time()
        slots = [throttle._reserve(self.env.cr, max_wait=10)[1] for _index in range(3)]
        self.assertAlmostEqual(slots[0], start, delta=0.5)
        self.assertAlmostEqual(slots[1] - slots[0], 1.0, places=3)
        self.assertAlmostEqual(slots[2] - slots[1], 1.0, places=3)
        reserved, slot, holding = throttle._reserve(self.env.cr, max_wait=1.5)
        self.assertFalse(reserved, "the 4th slot is 3 s away")
        self.assertAlmostEqual(slot - slots[2], 1.0, places=3)
        self.assertEqual(holding, throttle)
        throttle.period = "hour"
        self.assertTrue(throttle._reserve(self.env.cr)[0], "a new pace starts from now")

    def test_server_limit_holds_the_rest(self):
        self.Throttle.create({"mail_server_id": self.mail_server.id, "max_count": 2})
        message = self._send()
        self.assertEqual(len(self.received()), 1, "one slot now, the next in 30 s")
        held = message.recipient_ids.filtered(lambda line: line.state == "processing")
        self.assertEqual(len(held), 3)
        self.assertEqual(
            set(held.mapped("last_answer")), {"Waiting for a sending limit"}
        )
        self.assertEqual(set(held.mail_mail_id.mapped("state")), {"outgoing"})
        self.assertFalse(any(held.mapped("delivery_attempts")), "not an attempt")
        self.assertGreater(
            min(held.mapped("next_try_date")),
            fields.Datetime.now(),
            "they wait for the slot",
        )
        self.assertEqual(message.state, "processing")
        # nothing due yet: the next run sends nothing
        self.env["customer.message"]._cron_send_emails()
        self.assertEqual(len(self.received()), 1)
        for _run in range(3):
            self._time_passes(message)
        self.assertEqual(message.state, "sent")
        self.assertEqual(
            sorted(
                rcpt for item in self.smtp_handler.messages for rcpt in item["rcpt_tos"]
            ),
            sorted(self.customers.mapped("email")),
            "each once, one per slot",
        )

    def test_domain_limit_holds_that_domain_only(self):
        self.Throttle.create(
            {
                "recipient_domains": "example.org, example.net",
                "max_count": 1,
                "period": "day",
            }
        )
        message = self._send()
        self.assertEqual(
            len(self.received()), 3, "example.com and one example.org customer"
        )
        held = message.recipient_ids.filtered(lambda line: line.state == "processing")
        self.assertEqual(held.partner_id.email.rpartition("@")[2], "example.org")
        self.assertGreater(
            held.next_try_date,
            fields.Datetime.now() + timedelta(hours=23),
            "one a day",
        )

    def test_limit_of_another_server_does_not_apply(self):
        other = self.env["ir.mail_server"].create(
            {"name": "Other relay", "smtp_host": "127.0.0.1", "smtp_port": 9}
        )
        self.Throttle.create({"mail_server_id": other.id, "max_count": 1})
        self._send()
        self.assertEqual(len(self.received()), 4)

    def test_server_limit_stops_the_run(self):
        """Once a limit of every email holds one, the run stops: the rest of
        the queue is not claimed and released email by email."""
        self.Throttle.create({"max_count": 1, "period": "hour"})
        message = self._send()
        self.assertEqual(len(self.received()), 1)
        held = message.recipient_ids.mail_mail_id.sudo().filtered(
            lambda mail: mail.state == "outgoing"
        )
        self.assertEqual(len(held), 3)
        self.assertTrue(held._send_queued_in_chunks(), "the run says it stopped")
        self.assertEqual(len(self.received()), 1)
        self.assertFalse(
            self.Throttle.search([]).with_context(active_test=False).mail_server_id,
            "a limit of any server",
        )

    def test_settings(self):
        with self.assertRaises(ValidationError):
            self.Throttle.create({"recipient_domains": "alice@gmail.com"})
        with self.assertRaises(ValidationError):
            self.Throttle.create({"channel": "sms", "recipient_domains": "gmail.com"})
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            self.Throttle.create({"max_count": 0})
        throttle = self.Throttle.create(
            {"mail_server_id": self.mail_server.id, "max_count": 30}
        )
        self.assertEqual(
            throttle.display_name, "30 per minute (Test SMTP on 127.0.0.1)"
        )

    def test_only_managers_set_limits(self):
        with self.assertRaises(AccessError):
            self.Throttle.with_user(self.user_sender).search([])
        with self.assertRaises(AccessError):
            self.Throttle.with_user(self.user_sender).create({"max_count": 100})
        throttle = self.Throttle.with_user(self.user_manager).create({"max_count": 100})
        self.assertEqual(throttle.max_count, 100)
        # the plain user's sending still obeys it
        throttle.max_count = 1
        self._send(self.alice | self.bob)
        self.assertEqual(len(self.received()), 1)


@tagged("customer_messages", "post_install", "-at_install")
class TestSmsLimits(SMSGatewayCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        belgium = cls.env.ref("base.be")
        cls.customers = cls.env["res.partner"]
        for index, phone in enumerate(
            ("+32 470 12 34 56", "+32 470 65 43 21", "+32 470 11 22 33")
        ):
            cls.customers |= cls._create_customer(
                f"Customer {index}",
                customer_login=f"sms{index}",
                phone=phone,
                country_id=belgium.id,
            )

    def test_sms_limit_holds_the_rest(self):
        self.env["customer.message.throttle"].create({"channel": "sms", "max_count": 2})
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(self.customers, {"subject": "Outage", "channel": "sms"})
            .with_env(self.env)
        )
        self.assertEqual(len(FakeGateway.received), 1, "one now, the next in 30 s")
        held = message.recipient_ids.filtered(lambda line: line.state == "processing")
        self.assertEqual(len(held), 2)
        self.assertEqual(set(held.sms_id.mapped("state")), {"outgoing"})
        self.assertEqual(
            set(held.mapped("last_answer")), {"Waiting for a sending limit"}
        )
        cron = self.env.ref("sms.ir_cron_sms_scheduler_action")
        self.assertTrue(
            self.env["ir.cron.trigger"].search(
                [("cron_id", "=", cron.id), ("call_at", ">", fields.Datetime.now())]
            ),
            "the SMS queue is woken at the slot",
        )
        # Odoo's own SMS queue (its cron sends with _send) obeys it too
        held.sms_id._send()
        self.assertEqual(len(FakeGateway.received), 1)
        self.env["customer.message.throttle"].search([]).next_slot = 0
        held.sms_id._send()
        self.assertEqual(len(FakeGateway.received), 2)


@tagged("customer_messages", "post_install", "-at_install")
class TestLimitContention(TransactionCase):
    """Two cron workers taking slots of one limit at once (real concurrent
    transactions, each on connections of its own): the one that waits for
    the other's lock takes the next slot, never fails, and the slots keep
    the pace."""

    def setUp(self):
        super().setUp()
        # committed, for the other connections to see it (the test's own
        # transaction is rolled back, this row is deleted at the end)
        self.db = sql_db.db_connect(self.env.cr.dbname)
        with self.db.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.throttle_id = (
                env["customer.message.throttle"]
                .create({"channel": "sms", "max_count": 600, "period": "minute"})
                .id
            )
            cr.commit()  # pylint: disable=invalid-commit
        self.addCleanup(self._delete_throttle)

    def _delete_throttle(self):
        with self.db.cursor() as cr:
            cr.execute(
                "DELETE FROM customer_message_throttle WHERE id = %s",
                [self.throttle_id],
            )
            cr.commit()  # pylint: disable=invalid-commit

    def _worker(self, count, slots, errors, started=None):
        """A cron worker taking count slots, as the sending loops do (a
        cursor of its own for the slots, committed at once)."""
        try:
            with self.db.cursor() as cr, self.db.cursor() as slot_cr:
                # the test's registry (Registry() waits for the test's end)
                cr.transaction = Transaction(self.registry)
                env = api.Environment(cr, SUPERUSER_ID, {})
                limits = env["customer.message.throttle"].browse(self.throttle_id)
                pacer = Pacer(env, slot_cr, wait=True)
                if started:
                    started.set()
                for _index in range(count):
                    held_until = pacer.take(limits)
                    self.assertIsNone(held_until)
                    slots.append(time.time())
        except Exception as error:  # noqa: BLE001 - what the test checks
            errors.append(error)

    def test_waiting_for_another_workers_slot_never_fails(self):
        """A worker waits on the limit's row while another one holds it and
        takes a slot: it then takes the slot after that one."""
        holder = self.db.cursor()
        try:
            holder.execute(
                "SELECT next_slot FROM customer_message_throttle WHERE id = %s "
                "FOR UPDATE",
                [self.throttle_id],
            )
            other_slot = time.time() + 0.5
            holder.execute(
                "UPDATE customer_message_throttle SET next_slot = %s WHERE id = %s",
                [other_slot, self.throttle_id],
            )
            slots, errors, started = [], [], threading.Event()
            thread = threading.Thread(
                target=self._worker, args=(1, slots, errors, started)
            )
            thread.start()
            started.wait(10)
            time.sleep(0.5)  # the worker is waiting for the row
            holder.commit()
        finally:
            holder.close()
        thread.join(30)
        self.assertFalse(errors)
        self.assertEqual(len(slots), 1)
        self.assertGreaterEqual(slots[0], other_slot - 0.01)

    def test_two_workers_keep_the_pace(self):
        """Two workers taking 10 slots each of a limit of 600 a minute: no
        error, and the slots they got are 0.1 s apart at least."""
        Throttle = type(self.env["customer.message.throttle"])
        reserve = Throttle._reserve
        reserved = []

        def recording_reserve(throttles, cr, max_wait=0.0):
            claim = reserve(throttles, cr, max_wait)
            if claim[0]:
                reserved.append(claim[1])
            return claim

        slots, errors = [], []
        with patch.object(Throttle, "_reserve", recording_reserve):
            threads = [
                threading.Thread(target=self._worker, args=(10, slots, errors))
                for _index in range(2)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        self.assertFalse(errors)
        self.assertEqual(len(slots), 20)
        reserved.sort()
        gaps = [
            later - earlier
            for earlier, later in zip(reserved, reserved[1:], strict=False)
        ]
        self.assertEqual(len(reserved), 20)
        self.assertGreaterEqual(min(gaps), 0.1 - 1e-6, gaps)
