from odoo.tests import HttpCase, tagged

from .common import BrowserTour, CustomerMessagesCommon


@tagged("customer_messages", "at_install", "-post_install")
class TestModule(CustomerMessagesCommon):
    def test_groups(self):
        user_group = self.env.ref("customer_messages.customer_messages_group_user")
        manager_group = self.env.ref(
            "customer_messages.customer_messages_group_manager"
        )
        self.assertEqual(user_group.full_name, "Messages / User")
        self.assertEqual(manager_group.full_name, "Messages / Manager")
        self.assertIn(user_group, manager_group.all_implied_ids)
        self.assertTrue(
            self.user_manager.has_group(
                "customer_messages.customer_messages_group_user"
            )
        )
        self.assertIn(self.env.ref("base.user_admin"), manager_group.all_user_ids)
        self.assertFalse(
            self.user_internal.has_group(
                "customer_messages.customer_messages_group_user"
            )
        )

    def _visible_menus(self, user):
        return self.env["ir.ui.menu"].with_user(user)._visible_menu_ids()

    def test_menus(self):
        root = self.env.ref("customer_messages.customer_messages_menu_root")
        configuration = self.env.ref(
            "customer_messages.customer_messages_menu_configuration"
        )
        customers = self.env.ref("customer_messages.res_partner_menu_customers")
        self.assertEqual(root.name, "Messages")
        self.assertTrue(root.web_icon)

        user_menus = self._visible_menus(self.user_messages)
        self.assertIn(root.id, user_menus)
        self.assertIn(customers.id, user_menus)
        self.assertNotIn(configuration.id, user_menus)

        manager_menus = self._visible_menus(self.user_manager)
        self.assertIn(configuration.id, manager_menus)

        internal_menus = self._visible_menus(self.user_internal)
        self.assertNotIn(root.id, internal_menus)
        # the web client builds its menu tree from load_menus: no trace of ours
        tree = (
            self.env["ir.ui.menu"].with_user(self.user_internal).load_menus(debug=False)
        )
        self.assertNotIn(root.id, tree["root"]["children"])
        self.assertFalse({root.id, customers.id, configuration.id} & set(tree))
        tree = (
            self.env["ir.ui.menu"].with_user(self.user_messages).load_menus(debug=False)
        )
        self.assertIn(root.id, tree["root"]["children"])
        self.assertIn(customers.id, tree)


@tagged("customer_messages", "post_install", "-at_install")
class TestModuleTour(BrowserTour, HttpCase, CustomerMessagesCommon):
    def test_menu_tour(self):
        """The menus, the History and the email log as staff read them, then
        an outage notice to one location in 5 clicks from Incidents (8
        before the incident named itself)."""
        customer = self._create_customer(
            "Tour Customer",
            tariffs=self.tariff_fiber,
            location_id=self.location_north.id,
            email="tour@example.com",
        )
        other = self._create_customer("Other Tour Customer", email="other@example.com")
        # a message sent to both, and one that reached nobody: the History
        # and the email log as staff read them
        sent, unsent = self.env["customer.message"].create(
            [
                {"subject": "Your invoice, {{ object.name }}", "state": "sent"},
                {"subject": "Tour notice to nobody", "state": "unsent"},
            ]
        )
        self.env["customer.message.recipient"].create(
            [
                {
                    "message_id": sent.id,
                    "partner_id": partner.id,
                    "email": partner.email,
                    "subject": f"Your invoice, {partner.name}",
                    "state": "sent",
                }
                for partner in (customer, other)
            ]
            + [
                {
                    "message_id": unsent.id,
                    "partner_id": customer.id,
                    "state": "cancelled",
                    "failure_reason": "Excluded: no email address",
                }
            ]
        )
        # an SMS provider is set up (its gateway does not answer: the SMS
        # line fails, the notice is sent all the same)
        self.env["ir.config_parameter"].sudo().set_param(
            "sms.endpoint", "http://127.0.0.1:9"
        )
        self.start_tour("/odoo", "customer_messages_menu", login="cm_manager")
        incident = self.env["customer.incident"].search(
            [("location_ids", "in", self.location_north.ids)]
        )
        self.assertEqual(incident.name, "Unplanned outage: North Town")
        self.assertEqual(incident.state, "ongoing")
        self.assertEqual(len(incident.notice_message_ids), 2, "SMS, then email")
