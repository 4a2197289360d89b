import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg2.errors

from odoo import Command, api
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.orm.environments import Transaction
from odoo.tests import new_test_user, tagged
from odoo.tests.common import BaseCase, get_db_name
from odoo.tools import SQL, mute_logger

CUSTOMERS = 30


@tagged("customer_messages", "post_install", "-at_install")
class TestSendOnce(BaseCase):
    """Two Sends of one composition in two real transactions at once (a
    double click): one message, every customer once. The data is committed
    (the transactions of the test see only what is), and removed after."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        cls.addClassCleanup(cls._remove_committed)
        cls.user_id = None
        cls.customer_ids = []
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            # a Messages / User with no other right
            cls.user_id = new_test_user(
                env,
                login="cm_send_once",
                groups="base.group_user,customer_messages.customer_messages_group_user",
                name="Send Once",
                email="send.once@example.com",
            ).id
            cls.customer_ids = (
                env["res.partner"]
                .create(
                    [
                        {
                            "name": f"Send Once {index:02d}",
                            "email": f"send.once.{index:02d}@example.com",
                            "customer_status": "active",
                        }
                        for index in range(CUSTOMERS)
                    ]
                )
                .ids
            )

    def setUp(self):
        super().setUp()
        self.addCleanup(self._remove_messages, self.user_id)

    @classmethod
    def _remove_messages(cls, user_id):
        """The messages and compositions of the test's user."""
        with cls.registry.cursor() as cr:
            # sql: the history is kept from deletion by the module; the
            # test's own rows go, lines with their messages (cascade)
            for table in ("customer_message", "customer_message_composer"):
                cr.execute(
                    SQL(
                        "DELETE FROM %s WHERE create_uid = %s",
                        SQL.identifier(table),
                        user_id,
                    )
                )

    @classmethod
    def _remove_committed(cls):
        if cls.user_id:
            cls._remove_messages(cls.user_id)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            env["res.partner"].browse(cls.customer_ids).unlink()
            if cls.user_id:
                user = env["res.users"].browse(cls.user_id)
                partner = user.partner_id
                user.unlink()
                partner.unlink()

    def _env(self, cr):
        if cr.transaction is None:
            # the registry itself: looking it up by name waits for the lock
            # the test runner holds, in the other threads
            cr.transaction = Transaction(self.registry)
        return api.Environment(cr, self.user_id, {})

    def _composer(self):
        """A composition of a mass message to the customers, committed."""
        with self.registry.cursor() as cr:
            return (
                self._env(cr)["customer.message.composer"]
                .create(
                    {
                        "mode": "mass",
                        "partner_ids": [Command.set(self.customer_ids)],
                        "channel": "email",
                        "subject": "Planned works",
                        "body_html": "<p>Tonight.</p>",
                    }
                )
                .id
            )

    def _send(self, composer_id):
        """Send, in a transaction of its own: the message opened."""
        with self.registry.cursor() as cr:
            return self._send_in(cr, composer_id)

    def _send_in(self, cr, composer_id):
        action = self._env(cr)["customer.message.composer"].browse(composer_id)
        return action.action_send()["res_id"]

    def _messages(self):
        """{message id: [customer ids of its lines]} of the test's user."""
        with self.registry.cursor() as cr:
            cr.execute(
                SQL(
                    "SELECT message.id, array_agg(line.partner_id ORDER BY "
                    "line.partner_id) FROM customer_message message "
                    "JOIN customer_message_recipient line "
                    "ON line.message_id = message.id "
                    "WHERE message.create_uid = %s GROUP BY message.id",
                    self.user_id,
                )
            )
            return dict(cr.fetchall())

    @mute_logger("odoo.sql_db")
    def test_two_sends_at_once(self):
        composer_id = self._composer()
        first_sent = threading.Event()
        second_tried = threading.Event()

        def first():
            with self.registry.cursor() as cr:
                message_id = self._send_in(cr, composer_id)
                first_sent.set()
                # holds its transaction open while the second click comes
                second_tried.wait(timeout=30)
            return message_id

        def second():
            try:
                self.assertTrue(first_sent.wait(timeout=30))
                return self._send(composer_id)
            except UserError as error:
                return error
            finally:
                second_tried.set()

        with ThreadPoolExecutor(max_workers=2) as executor:
            first_future = executor.submit(first)
            second_future = executor.submit(second)
            message_id = first_future.result(timeout=60)
            second_result = second_future.result(timeout=60)

        self.assertIsInstance(
            second_result, UserError, "the second click while the first one runs"
        )
        self.assertIn("being sent already", str(second_result))
        self.assertEqual(
            self._messages(),
            {message_id: sorted(self.customer_ids)},
            "one message, every customer once",
        )
        # a click after it: the message made by the first one
        self.assertEqual(self._send(composer_id), message_id)
        self.assertEqual(list(self._messages()), [message_id])

    @mute_logger("odoo.sql_db")
    def test_send_begun_before_the_first_committed(self):
        """A second Send whose transaction began before the first one
        committed cannot see its message: it gets a serialization failure,
        which Odoo's request handling retries; the retry opens the first
        message."""
        composer_id = self._composer()
        with self.registry.cursor() as late_cr:
            late = self._env(late_cr)["customer.message.composer"].browse(composer_id)
            self.assertEqual(late.subject, "Planned works")  # its snapshot
            message_id = self._send(composer_id)
            with self.assertRaises(psycopg2.errors.SerializationFailure):
                late.action_send()
            late_cr.rollback()
        # the request retried
        self.assertEqual(self._send(composer_id), message_id)
        self.assertEqual(self._messages(), {message_id: sorted(self.customer_ids)})

    def test_each_composition_sends_its_own(self):
        """The positive twin: two compositions are two messages."""
        first = self._send(self._composer())
        second = self._send(self._composer())
        self.assertNotEqual(first, second)
        self.assertEqual(sorted(self._messages()), sorted([first, second]))
