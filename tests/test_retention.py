from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged
from odoo.tools import SQL

from .common import SendingCase

CRON = "customer_messages.ir_cron_customer_message_purge"


@tagged("customer_messages", "post_install", "-at_install")
class TestRetention(SendingCase):
    """Old messages lose their lines and bodies, keep their counts, their
    audit and the customers' chatter lines."""

    def _send(self, subject):
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.alice | self.bob,
                {"template_id": self.template.id, "channel": "email"},
            )
            .with_env(self.env)
        )
        self.assertEqual(message.state, "sent", subject)
        return message

    def _age(self, message, days):
        # sql: the message sent earlier, as if time had passed
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE customer_message SET date = %s WHERE id = %s",
                fields.Datetime.now() - timedelta(days=days),
                message.id,
            )
        )
        message.invalidate_recordset(["date"])

    def _run_cron(self):
        with self.enter_registry_test_mode():
            result = self.env.ref(CRON).method_direct_trigger()
        self.assertIs(result, True, f"the cron failed: {result}")
        self.env.invalidate_all()

    def _chatter(self, customer):
        return self.env["mail.message"].search_count(
            [
                ("model", "=", "res.partner"),
                ("res_id", "=", customer.id),
                ("body", "ilike", "Customer message"),
            ]
        )

    def _lines(self, message):
        return self.env["customer.message.recipient"].search_count(
            [("message_id", "=", message.id)]
        )

    def test_old_lines_purged_counts_kept(self):
        old = self._send("a year ago")
        recent = self._send("last month")
        self.assertEqual(len(self.received("alice@example.com")), 2, "real emails")
        self._age(old, 400)
        self._age(recent, 300)
        version = old.sudo().template_version
        self.assertTrue(version)
        chatter = self._chatter(self.alice)
        self.assertEqual(chatter, 2, "one chatter line per message")
        # two committed batches of one line each
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.purge_batch_size", "1"
        )
        self._run_cron()

        self.assertEqual(self._lines(old), 0, "the old lines and bodies are gone")
        self.assertEqual(self._lines(recent), 2, "recent lines are kept")
        as_sender = old.with_user(self.user_sender)
        self.assertEqual(
            (as_sender.recipient_count, as_sender.sent_count, as_sender.failed_count),
            (2, 2, 0),
            "the counts are kept",
        )
        self.assertTrue(old.purged_date)
        self.assertFalse(recent.purged_date)
        self.assertEqual(old.sudo().template_version, version, "the audit is kept")
        self.assertIn("Dear <t t-out", old.body_html, "the message's own body is kept")
        self.assertEqual(self._chatter(self.alice), chatter, "the chatter is kept")

    def test_retention_setting(self):
        old = self._send("a year ago")
        self._age(old, 400)
        # 0: kept for ever
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("customer_messages.retention_months", "0")
        self._run_cron()
        self.assertEqual(self._lines(old), 2)
        self.assertFalse(old.purged_date)
        # 24 months: a 400-day-old message is kept too
        params.set_param("customer_messages.retention_months", "24")
        self._run_cron()
        self.assertEqual(self._lines(old), 2)
        # 12 months (the default): purged
        params.set_param("customer_messages.retention_months", "12")
        self._run_cron()
        self.assertEqual(self._lines(old), 0)
        self.assertEqual(old.with_user(self.user_sender).recipient_count, 2)

    def test_time_box_stops_and_triggers_again(self):
        old = self._send("a year ago")
        self._age(old, 400)
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.purge_batch_size", "1"
        )
        calls = []

        def out_of_time(model):
            calls.append(1)
            return len(calls) > 1  # time for one batch only

        Message = self.registry["customer.message"]
        cron = self.env.ref(CRON)
        with patch.object(Message, "_out_of_time", out_of_time, create=True):
            self._run_cron()
        self.assertEqual(self._lines(old), 1, "one batch in the time given")
        self.assertEqual(old.recipient_count, 2, "its counts kept before")
        self.assertTrue(
            self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)]),
            "the cron runs again for the rest",
        )
        self._run_cron()
        self.assertEqual(self._lines(old), 0)
        self.assertEqual(old.recipient_count, 2)
