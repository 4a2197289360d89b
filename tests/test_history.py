import ast
from datetime import timedelta

from lxml import etree

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import CustomerMessagesCommon


@tagged("customer_messages", "post_install", "-at_install")
class TestHistory(HttpCase, CustomerMessagesCommon):
    """The history and the email log as staff use them: Delete from the
    list, Removed from the filter panel, the same periods on both."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = cls._create_customer("Alice Person", email="alice@example.com")
        now = fields.Datetime.now()
        cls.messages = {}
        for name, date in (
            ("today", now),
            ("yesterday", now - timedelta(days=1)),
            ("week", now - timedelta(days=5)),
            ("old", now - timedelta(days=70)),
        ):
            message = cls.env["customer.message"]._send_to_customers(
                cls.alice,
                {"subject": name, "channel": "portal", "scheduled_date": now},
                process="cron",
            )
            message.date = date
            message.recipient_ids.message_date = date
            cls.messages[name] = message

    def _search_filters(self, model):
        arch = (
            self.env[model]
            .with_user(self.user_sender)
            .get_views([(False, "search")])["views"]["search"]["arch"]
        )
        return etree.fromstring(arch)

    def test_delete_from_the_list(self):
        list_arch = etree.fromstring(
            self.env["customer.message"]
            .with_user(self.user_sender)
            .get_views([(False, "list")])["views"]["list"]["arch"]
        )
        self.assertEqual(list_arch.get("delete"), "false", "no hard delete")
        action = self.env.ref("customer_messages.customer_message_action_remove")
        self.authenticate("cm_sender", "cm_sender")
        targets = self.messages["old"] | self.messages["week"]
        self.make_jsonrpc_request(
            "/web/action/run",
            {
                "action_id": action.id,
                "context": {
                    "active_model": "customer.message",
                    "active_ids": targets.ids,
                },
            },
        )
        self.assertEqual(set(targets.mapped("state")), {"removed"})
        self.assertEqual(set(targets.recipient_ids.mapped("state")), {"removed"})
        self.assertTrue(targets.exists(), "kept for audit")

    def test_removed_from_the_filter_panel(self):
        """ "Removed" is in the group of the default "Any (without removed)"
        filter: ticking it shows them (filters of one group are or-ed)."""
        search = self._search_filters("customer.message")
        default = search.find(".//filter[@name='not_removed']")
        group = []
        for node in default.itersiblings():
            if node.tag != "filter":
                break
            group.append(node.get("name"))
        self.assertIn("state_removed", group)

    def test_same_periods_in_history_and_log(self):
        expected = {
            "today": {"today"},
            "yesterday": {"yesterday"},
            "last_7_days": {"today", "yesterday", "week"},
        }
        for model, date_filter in (
            ("customer.message", "filter_date"),
            ("customer.message.recipient", "filter_message_date"),
        ):
            search = self._search_filters(model)
            periods = {
                node.get("name"): ast.literal_eval(node.get("domain"))
                for node in search.findall(f".//filter[@name='{date_filter}']/filter")
            }
            self.assertEqual(
                list(periods),
                ["today", "yesterday", "last_7_days", "this_month", "last_month"],
            )
            records = self.env[model].with_user(self.user_sender)
            for period, names in expected.items():
                found = records.search(
                    periods[period] + [("id", "in", self._ids_of(model))]
                )
                subjects = set(
                    found.mapped("subject")
                    if model == "customer.message"
                    else found.message_id.mapped("subject")
                )
                self.assertEqual(subjects, names, f"{model}: {period}")
            for period in ("this_month", "last_month"):
                records.search(periods[period])  # valid domains

    def _ids_of(self, model):
        messages = self.env["customer.message"].browse(
            message.id for message in self.messages.values()
        )
        return (
            messages.ids if model == "customer.message" else messages.recipient_ids.ids
        )
