import logging

from odoo import Command
from odoo.tests import tagged

from ..hooks import _uninstall_hook
from .common import CustomerMessagesCommon


@tagged("customer_messages", "at_install", "-post_install")
class TestUninstallHook(CustomerMessagesCommon):
    """Before the module goes, what users made with it that Odoo could not
    run without it is archived, and nothing else. (The uninstallation itself,
    and Odoo working afterwards, are checked by dev/uninstall-check after the
    whole suite.)"""

    def _rule(self, name, model="res.partner", domain=False, **values):
        return self.env["base.automation"].create(
            {
                "name": name,
                "model_id": self.env["ir.model"]._get_id(model),
                "trigger": "on_create_or_write",
                "filter_domain": domain,
                **values,
            }
        )

    def _send_values(self, **values):
        return {
            "model_id": self.env["ir.model"]._get_id("res.partner"),
            "state": "customer_message",
            "customer_message_template_id": self.env.ref(
                "customer_messages.mail_template_unpaid_reminder"
            ).id,
            "customer_message_channel": "email",
            **values,
        }

    def test_archives_what_needs_the_module(self):
        status = self.env["ir.model.fields"]._get("res.partner", "customer_status")
        needing = (
            self._rule("Blocked", domain="[('customer_status', '=', 'blocked')]")
            | self._rule(
                "Through a relation",
                "account.move",
                "[('move_type', '=', 'out_invoice'), "
                "('partner_id.customer_status', '=', 'active')]",
            )
            | self._rule(
                "In an any",
                domain="[('child_ids', 'any', [('location_id', '!=', False)])]",
            )
            | self._rule(
                "Before the update",
                domain="[('name', '!=', False)]",
                filter_pre_domain="[('customer_login', '=', 'x')]",
            )
            | self._rule("On a field", trigger_field_ids=[Command.set(status.ids)])
            | self._rule(
                "Sending",
                domain="[('is_company', '=', True)]",
                action_server_ids=[
                    Command.create(self._send_values(name="Send the reminder"))
                ],
            )
        )
        # (the rules on the module's own models go away with them)
        keeping = (
            self._rule("On services", "customer.service", "[('status', '=', 'active')]")
            | self._rule("Names only", domain="[('name', 'ilike', 'customer_status')]")
            | self._rule(
                "Other fields",
                "account.move",
                "[('partner_id.name', '=', 'x'), ('partner_id.child_ids', 'any', "
                "[('email', '!=', False)])]",
            )
        )
        cron = self.env["ir.cron"].create(
            self._send_values(
                name="Weekly reminder", interval_number=1, interval_type="weeks"
            )
        )
        action = self.env["ir.actions.server"].create(
            self._send_values(
                name="Send the reminder now",
                binding_model_id=self.env["ir.model"]._get_id("res.partner"),
            )
        )
        Filter = self.env["ir.filters"]
        filters_needing = Filter.create(
            [
                {
                    "name": "By status",
                    "model_id": "res.partner",
                    "domain": "[]",
                    "context": "{'group_by': ['customer_status']}",
                },
                {
                    "name": "Newest customers",
                    "model_id": "res.partner",
                    "domain": "[]",
                    "sort": '["customer_since desc"]',
                },
                {
                    "name": "Invoices of active customers",
                    "model_id": "account.move",
                    "domain": "[('partner_id.customer_status', '=', 'active')]",
                },
            ]
        )
        filter_keeping = Filter.create(
            {
                "name": "Companies",
                "model_id": "res.partner",
                "domain": "[('is_company', '=', True)]",
            }
        )
        own_cron = self.env.ref("customer_messages.ir_cron_unpaid_reminder")

        # (logging.INFO: Odoo names its level 25 "INFO" too)
        with self.assertLogs(
            "odoo.addons.customer_messages.hooks", logging.INFO
        ) as logs:
            _uninstall_hook(self.env)

        self.assertEqual(set(needing.mapped("active")), {False})
        self.assertEqual(set(keeping.mapped("active")), {True})
        self.assertFalse(cron.active)
        self.assertEqual(set(filters_needing.mapped("active")), {False})
        self.assertTrue(filter_keeping.active)
        # the actions of the type that goes away do nothing now, and are out
        # of the Action menu; what they did is in their code
        for sender in cron.ir_actions_server_id | action | needing.action_server_ids:
            self.assertEqual(sender.state, "code")
            self.assertIn("Customer messages: unpaid invoices reminder", sender.code)
            self.assertFalse(sender.customer_message_template_id)
        self.assertFalse(action.binding_model_id)
        # the module's own records go with it: left to the uninstallation
        self.assertEqual(own_cron.state, "customer_message")
        (line,) = [line for line in logs.output if "archived" in line]
        for records in (needing, cron, filters_needing, action):
            for record in records:
                self.assertIn(f"{record.display_name!r} (id {record.id})", line)
        for record in [*keeping, filter_keeping]:
            self.assertNotIn(f"{record.display_name!r}", line)
