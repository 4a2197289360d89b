from odoo.tests import HttpCase, tagged

from ..common import FakeGateway, SendingCase, SMSGatewayCase


@tagged("customer_messages", "post_install", "-at_install")
class TestAutomation(HttpCase, SendingCase, SMSGatewayCase):
    """The shipped automation rules and scheduled action, fired for real
    (HttpCase: the scheduled action runs in a cursor of its own)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice.write(
            {"phone": "+32 470 12 34 56", "country_id": cls.env.ref("base.be").id}
        )

    def _process(self):
        """The processing cron, which sends what the rules queued (a rule
        fires during the user's click and answers at once)."""
        self.env.ref(
            "customer_messages.ir_cron_customer_message_process"
        ).method_direct_trigger()
        self.env.invalidate_all()

    def _activate(self, xmlid):
        record = self.env.ref(xmlid)
        record.active = True
        return record

    def test_invoice_posted_rule(self):
        self._activate("customer_messages.base_automation_invoice_posted")
        invoice = self._create_invoice(self.alice, 120.0, post=False)
        other = self._create_invoice(self.alice, 20.0)  # posted too: its own message
        self._process()
        self.smtp_handler.messages.clear()
        invoice.action_post()
        self.assertFalse(self.smtp_handler.messages, "queued, not sent in the click")
        self._process()

        (email,) = self.received("alice@example.com")
        self.assertIn("Your new invoice", email["Subject"])
        pdf = invoice.invoice_pdf_report_id
        self.assertEqual(
            self.pdf_attachments(email),
            {pdf.name: pdf.raw},
            "exactly the posted invoice",
        )
        self.assertNotIn(other.name, email.as_string())

        message = self.env["customer.message"].search(
            [("invoice_ids", "in", invoice.ids)]
        )
        self.assertEqual(message.origin, "automated")
        self.assertEqual(
            message.origin_ref,
            "Customer messages: send posted invoices by portal and email",
        )
        self.assertEqual(message.channel, "portal_email")
        self.assertEqual(message.state, "sent")
        self.assertEqual(invoice.customer_message_count, 1)
        line = message.recipient_ids
        self.assertTrue(line.portal_message_id, "published in the portal")
        self.assertEqual(line.attachment_ids, pdf)

        # posted again (reset to draft, posted): the rule fires, nobody is
        # sent the same invoice twice
        invoice.button_draft()
        invoice.action_post()
        self._process()
        self.assertEqual(len(self.received("alice@example.com")), 1)
        self.assertEqual(
            self.env["customer.message"].search_count(
                [("invoice_ids", "in", invoice.ids)]
            ),
            1,
        )

    def test_customer_blocked_rule(self):
        self._activate("customer_messages.base_automation_customer_blocked")

        # a plain Messages / User blocks her: the rule sends as them
        self.alice.with_user(self.user_sender).customer_status = "blocked"
        self.env.flush_all()
        self._process()

        self.assertEqual(
            [(number, text) for _path, number, text in FakeGateway.received],
            [("+32470123456", "Your services are blocked: please contact us")],
        )
        (email,) = self.received("alice@example.com")
        self.assertIn("Your account alice is blocked", self.html_body(email))
        messages = self.env["customer.message"].search([("origin", "=", "automated")])
        self.assertEqual(sorted(messages.mapped("channel")), ["email", "sms"])
        self.assertEqual(set(messages.mapped("state")), {"sent"})
        # Bob, untouched, got nothing; Alice blocked again gets nothing more
        self.bob.customer_status = "inactive"
        self.alice.customer_status = "active"
        self.alice.customer_status = "blocked"
        self._process()
        self.assertEqual(len(self.smtp_handler.messages), 1)

    def test_unpaid_reminder_scheduled_action(self):
        cron = self._activate("customer_messages.ir_cron_unpaid_reminder")
        unpaid_alice = self._create_invoice(self.alice, 10.0) | self._create_invoice(
            self.alice, 11.0
        )
        paid_alice = self._create_invoice(self.alice, 12.0)
        self._pay(paid_alice)
        unpaid_bob = self._create_invoice(self.bob, 13.0)
        # a customer whose invoices are all paid gets nothing
        carol = self._create_customer("Carol Paid", email="carol@example.com")
        self._pay(self._create_invoice(carol, 14.0))
        self.smtp_handler.messages.clear()

        cron.method_direct_trigger()

        message = self.env["customer.message"].search(
            [("server_action_id", "=", cron.ir_actions_server_id.id)]
        )
        # every customer with an unpaid invoice and nobody else: Alice and
        # Bob, and the demo's customers on a database with demo data
        unpaid = self.env["account.move"].search(
            [
                ("move_type", "=", "out_invoice"),
                ("state", "=", "posted"),
                ("payment_state", "in", ("not_paid", "partial")),
                ("partner_id.customer_status", "!=", False),
            ]
        )
        self.assertEqual(message.recipient_ids.partner_id, unpaid.partner_id)
        self.assertLessEqual(self.alice | self.bob, unpaid.partner_id)
        self.assertNotIn(carol, unpaid.partner_id)
        sent = message.recipient_ids.filtered(lambda line: line.state == "sent")
        self.assertEqual(
            sorted(
                rcpt.lower()
                for item in self.smtp_handler.messages
                for rcpt in item["rcpt_tos"]
            ),
            sorted(email.lower() for email in sent.mapped("email")),
            "one email per customer reached",
        )
        emails_sent = len(self.smtp_handler.messages)
        (email_alice,) = self.received("alice@example.com")
        (email_bob,) = self.received("bob@example.com")
        self.assertEqual(email_alice["Subject"], "Reminder: unpaid invoices")
        self.assertEqual(
            self.pdf_attachments(email_alice),
            {
                move.invoice_pdf_report_id.name: move.invoice_pdf_report_id.raw
                for move in unpaid_alice
            },
        )
        self.assertEqual(
            self.pdf_attachments(email_bob),
            {pdf.name: pdf.raw for pdf in unpaid_bob.invoice_pdf_report_id},
        )
        self.assertFalse(paid_alice.invoice_pdf_report_id, "paid invoices are not sent")
        self.assertEqual(message.origin, "automated")
        self.assertEqual(message.origin_ref, cron.name)

        # the job run again (after a crash, or twice the same day) sends nothing twice
        cron.method_direct_trigger()
        self.assertEqual(len(self.smtp_handler.messages), emails_sent)
        self.assertEqual(
            self.env["customer.message"].search_count(
                [("server_action_id", "=", cron.ir_actions_server_id.id)]
            ),
            1,
        )

    def test_server_action_on_other_model_and_api(self):
        """A server action on any model with a customer field, and the Python
        API an integrator calls from code."""
        action = self.env["ir.actions.server"].create(
            {
                "name": "Notify the customers of these services",
                "model_id": self.env["ir.model"]._get_id("customer.service"),
                "state": "customer_message",
                "customer_message_template_id": self.template.id,
                "customer_message_channel": "email",
                "customer_message_partner_field_id": self.env["ir.model.fields"]
                ._get("customer.service", "partner_id")
                .id,
            }
        )
        services = self.alice.service_ids | self.bob.service_ids
        action.with_context(
            active_model="customer.service", active_ids=services.ids
        ).run()
        self.assertFalse(
            self.smtp_handler.messages, "queued: the action answers at once"
        )
        self._process()
        self.assertEqual(len(self.smtp_handler.messages), 2)
        self.assertEqual(
            self.received("bob@example.com")[0]["Subject"], "Notice for Bob Company"
        )

        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.alice,
                {
                    "template_id": self.template.id,
                    "channel": "email",
                    "origin": "automated",
                    "origin_ref": "my code",
                },
            )
        )
        self.assertEqual(message.state, "sent")
        self.assertEqual(len(self.received("alice@example.com")), 2)
