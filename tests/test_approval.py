from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import SendingCase


@tagged("customer_messages", "post_install", "-at_install")
class TestApproval(SendingCase):
    """Four eyes: staff's messages to more customers than the threshold
    wait for another manager, who approves (then they are really sent) or
    rejects them (never sent); managers and authors are notified."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.approval_threshold", "2"
        )
        cls.carol = cls._create_customer("Carol Crowd", email="carol@example.com")
        cls.other_manager = new_test_user(
            cls.env,
            login="cm_manager2",
            groups="base.group_user,customer_messages.customer_messages_group_manager",
            name="Second Manager",
            email="cm.manager2@example.com",
        )

    def _send(self, partners, user=None, **values):
        return (
            self.env["customer.message"]
            .with_user(user or self.user_sender)
            ._send_to_customers(
                partners,
                {"subject": "Price change", "body_html": "<p>New prices</p>", **values},
            )
        )

    def _customers_reached(self):
        """The customers' addresses the SMTP server got an email for (staff
        get their notifications by email too)."""
        customers = (self.alice | self.bob | self.carol).mapped("email")
        return sorted(
            rcpt
            for item in self.smtp_handler.messages
            for rcpt in item["rcpt_tos"]
            if rcpt in customers
        )

    def _notified(self, message, user):
        return self.env["mail.notification"].search(
            [
                ("res_partner_id", "=", user.partner_id.id),
                ("mail_message_id.model", "=", "customer.message"),
                ("mail_message_id.res_id", "=", message.id),
            ]
        )

    def test_approved_then_sent(self):
        message = self._send(self.alice | self.bob | self.carol)
        self.assertEqual(message.state, "to_approve")
        self.env["customer.message"]._cron_process()
        self.assertFalse(self._customers_reached(), "nothing before the approval")
        self.assertTrue(self._notified(message, self.user_manager))
        self.assertTrue(self._notified(message, self.other_manager))
        # the managers' emails wait in Odoo's mail queue (the send does not
        # wait for the mail server), whose cron is woken
        self.assertFalse(self.received("cm.manager2@example.com"))
        self.env["mail.mail"].process_email_queue()
        (request,) = self.received("cm.manager2@example.com")
        self.assertIn("asks for approval", self.html_body(request))

        with self.assertRaises(AccessError):
            message.with_user(self.user_sender).action_approve()
        message.with_user(self.user_manager).action_approve()
        self.assertEqual(message.approved_uid, self.user_manager)
        self.assertTrue(self._notified(message, self.user_sender), "author told")
        self.env["customer.message"]._cron_process()
        self.assertEqual(message.state, "sent")
        self.assertEqual(
            self._customers_reached(),
            ["alice@example.com", "bob@example.com", "carol@example.com"],
        )
        with self.assertRaisesRegex(UserError, "not waiting for approval"):
            message.with_user(self.user_manager).action_approve()

    def test_rejected_never_sent(self):
        message = self._send(self.alice | self.bob | self.carol)
        message.with_user(self.user_manager).action_reject()
        self.assertEqual(message.state, "cancelled")
        self.assertEqual(
            set(message.recipient_ids.mapped("failure_reason")),
            {"Rejected by Messages Manager"},
        )
        self.assertTrue(self._notified(message, self.user_sender))
        self.env["customer.message"]._cron_process()
        self.assertFalse(self._customers_reached())

    def test_four_eyes(self):
        """A manager's own message waits for another manager."""
        message = self._send(self.alice | self.bob | self.carol, self.user_manager)
        self.assertEqual(message.state, "to_approve")
        self.assertFalse(self._notified(message, self.user_manager))
        with self.assertRaisesRegex(UserError, "Another manager"):
            message.with_user(self.user_manager).action_approve()
        message.with_user(self.other_manager).action_approve()
        self.assertEqual(message.state, "new")

    def test_below_threshold_and_automated(self):
        self.assertEqual(self._send(self.alice | self.bob).state, "sent")
        values = {"subject": "Rule", "body_html": "<p>x</p>", "origin": "automated"}
        automated = self.env["customer.message"]._send_to_customers(
            self.alice | self.bob | self.carol, values
        )
        self.assertEqual(automated.state, "sent", "the system's automations go")
        # a plain user's code claiming to be an automation: his own send
        claimed = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(self.alice | self.bob | self.carol, values)
        )
        self.assertEqual(claimed.state, "to_approve")

    def test_composer_says_so(self):
        composer = self._compose(
            mode="mass",
            partner_ids=self.alice | self.bob | self.carol,
            subject="Price change",
            body_html="<p>New prices</p>",
        )
        self.assertTrue(composer.needs_approval)
        composer.action_confirm()
        action = composer.action_send()
        message = self.env["customer.message"].browse(action["res_id"])
        self.assertEqual(message.state, "to_approve")

    def test_category_requires_approval(self):
        """Legal and outage notices wait for a manager whatever their number
        of customers; the other categories follow the threshold."""
        legal = self.env.ref("customer_messages.customer_message_category_legal")
        service = self.env.ref("customer_messages.customer_message_category_service")
        billing = self.env.ref("customer_messages.customer_message_category_billing")
        self.assertTrue(legal.requires_approval)
        self.assertTrue(service.requires_approval)
        self.assertFalse(billing.requires_approval)
        message = self._send(self.alice, category_id=legal.id)
        self.assertEqual(message.state, "to_approve", "one customer, a legal notice")
        self.assertTrue(self._notified(message, self.user_manager))
        self.env["customer.message"]._cron_process()
        self.assertFalse(self._customers_reached())
        message.with_user(self.user_manager).action_approve()
        self.env["customer.message"]._cron_process()
        self.assertEqual(message.state, "sent")
        self.assertEqual(self._customers_reached(), ["alice@example.com"])

        self.assertEqual(self._send(self.bob, category_id=billing.id).state, "sent")
        automated = self._send(
            self.carol, self.user_manager, category_id=service.id, origin="automated"
        )
        self.assertEqual(automated.state, "sent", "set up by a manager: not held")
        automated = self._send(self.carol, category_id=service.id, origin="automated")
        self.assertEqual(automated.state, "to_approve", "set up by a plain user")

        composer = self._compose(
            mode="mass",
            partner_ids=self.alice,
            subject="New terms",
            body_html="<p>Our terms change</p>",
        )
        self.assertFalse(composer.needs_approval)
        composer.category_id = service
        self.assertTrue(composer.needs_approval, "the composer says so")
