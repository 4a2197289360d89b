from datetime import date, datetime, timedelta
from itertools import cycle

from odoo import Command, fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, HttpCase, freeze_time, tagged
from odoo.tools import SQL

from ..common import FakeGateway, SendingCase, SMSGatewayCase


@tagged("customer_messages", "post_install", "-at_install")
class TestRules(HttpCase, SendingCase, SMSGatewayCase):
    """Reminder rules and dunning, sent by their cron (run as the scheduler
    runs it; HttpCase: in a cursor of its own) at their working slot, with
    time frozen or the documents' dates shifted, really delivered.

    The rules are for the customers of the tests' own reseller (a rule for
    everybody is in test_reseller_scope): on a database with demo data, a
    rule for everybody reminds the demo's customers and invoices too."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.step_templates = cls.env["mail.template"].create(
            [
                {
                    "name": f"Reminder {number}",
                    "model_id": cls.env["ir.model"]._get_id("res.partner"),
                    "subject": f"Reminder {number} for {{{{ object.name }}}}",
                    "body_html": f"<p>Reminder {number}: <t t-out='object.name'/></p>",
                    "customer_message_sms_body": f"Reminder {number}: please pay",
                }
                for number in (1, 2, 3)
            ]
        )
        cls.alice.write(
            {"phone": "+32 470 12 34 56", "country_id": cls.env.ref("base.be").id}
        )
        cls.cron = cls.env.ref("customer_messages.ir_cron_customer_message_rule_run")
        cls.own_reseller = cls.env["res.partner"].create(
            {"name": "Reseller of the tests", "is_company": True, "is_reseller": True}
        )
        (cls.alice | cls.bob).reseller_id = cls.own_reseller

    def _rule(self, trigger="invoice_due", steps=((1, "after"),), **values):
        """A rule made by a manager for the customers of the tests' reseller,
        sending at any hour of any day by default (the working-hours test sets
        them)."""
        return (
            self.env["customer.message.rule"]
            .with_user(self.user_manager)
            .create(
                {
                    "name": "Reminders",
                    "trigger": trigger,
                    "hour": 0.0,
                    "tz": "UTC",
                    "working_days_only": False,
                    "reseller_ids": self.own_reseller.ids,
                    "step_ids": [
                        Command.create(
                            {
                                "days": days,
                                "timing": timing,
                                "channel": "email",
                                "template_id": template.id,
                            }
                        )
                        for (days, timing), template in zip(
                            steps, cycle(self.step_templates), strict=False
                        )
                    ],
                    **values,
                }
            )
        )

    def _run_cron(self, *rules):
        """The cron as the scheduler runs it, the rules' slots come."""
        for rule in rules:
            rule.next_run = fields.Datetime.now() - timedelta(minutes=5)
        self._trigger()

    def _trigger(self):
        """The reminders' cron, then the cron that sends the messages it
        queued."""
        self.cron.method_direct_trigger()
        self.env.ref(
            "customer_messages.ir_cron_customer_message_process"
        ).method_direct_trigger()
        self.env.invalidate_all()

    def _set_due(self, invoice, due):
        # sql: time shifted: the invoice was due on that day
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE account_move SET invoice_date_due = %s WHERE id = %s",
                due,
                invoice.id,
            )
        )
        invoice.invalidate_recordset(["invoice_date_due"])

    def _subjects(self, address):
        return [email["Subject"] for email in self.received(address)]

    def test_before_due_sends_once_with_the_invoice(self):
        rule = self._rule(steps=((3, "before"),))
        invoice = self._create_invoice(self.alice, 50.0)
        other = self._create_invoice(self.alice, 60.0)
        self._set_due(invoice, date.today() + timedelta(days=3))
        self._set_due(other, date.today() + timedelta(days=10))
        late = self._create_invoice(self.bob, 70.0)
        self._set_due(late, date.today() + timedelta(days=2))
        self.smtp_handler.messages.clear()

        self._run_cron(rule)
        (email,) = self.received("alice@example.com")
        self.assertEqual(email["Subject"], "Reminder 1 for Alice Person")
        pdf = invoice.invoice_pdf_report_id
        self.assertEqual(
            self.pdf_attachments(email), {pdf.name: pdf.raw}, "the invoice itself"
        )
        # bob's invoice is due in 2 days: its day (3 days before) was
        # yesterday, caught up once
        (email_bob,) = self.received("bob@example.com")
        self.assertEqual(
            list(self.pdf_attachments(email_bob)),
            [late.invoice_pdf_report_id.name],
        )
        message = rule.message_ids
        self.assertEqual(len(message), 1, "one message for the step's run")
        self.assertEqual(message.recipient_ids.partner_id, self.alice | self.bob)
        self.assertEqual(message.origin, "automated")
        self.assertEqual(message.rule_id, rule)
        self.assertEqual(message.origin_ref, "Reminder rule: Reminders (step 1)")
        self.assertEqual(message.state, "sent")
        self.assertEqual(
            set(rule.log_ids.mapped("res_id")), {invoice.id, late.id}, "logged"
        )
        self.assertGreater(rule.next_run, fields.Datetime.now())
        self.assertEqual(rule.message_count, 1)
        self.assertEqual(
            self.env["customer.message"].search(rule.action_view_messages()["domain"]),
            message,
        )

        # the cron again, the same day and the next: nothing more
        self._run_cron(rule)
        with freeze_time(fields.Datetime.now() + timedelta(days=1)):
            self._run_cron(rule)
        self.assertEqual(len(self.smtp_handler.messages), 2)
        self.assertEqual(len(rule.message_ids), 1)

        # the other invoice gets its own reminder on its day
        self._set_due(other, date.today() + timedelta(days=3))
        self._run_cron(rule)
        self.assertEqual(len(self.received("alice@example.com")), 2)
        self.assertEqual(
            list(self.pdf_attachments(self.received("alice@example.com")[1])),
            [other.invoice_pdf_report_id.name],
        )

    def test_paid_and_old_invoices_get_no_reminder(self):
        rule = self._rule(steps=((2, "after"),), catch_up_days=3)
        paid = self._create_invoice(self.alice, 10.0)
        self._pay(paid)
        self._set_due(paid, date.today() - timedelta(days=2))
        old = self._create_invoice(self.bob, 10.0)
        # its step was 4 days ago, more than catch_up_days late
        self._set_due(old, date.today() - timedelta(days=6))
        self.smtp_handler.messages.clear()
        self._run_cron(rule)
        self.assertFalse(self.smtp_handler.messages)
        self.assertFalse(rule.message_ids)

        # the twin: the same rule reminds an unpaid invoice whose step is
        # within catch_up_days (so this test fails when the rule sends nothing)
        unpaid = self._create_invoice(self.alice, 10.0)
        self._set_due(unpaid, date.today() - timedelta(days=3))
        self.smtp_handler.messages.clear()
        self._run_cron(rule)
        (email,) = self.received("alice@example.com")
        self.assertEqual(email["Subject"], "Reminder 1 for Alice Person")
        self.assertEqual(
            list(self.pdf_attachments(email)), [unpaid.invoice_pdf_report_id.name]
        )
        self.assertFalse(self.received("bob@example.com"), "still too old")
        self.assertEqual(rule.log_ids.mapped("res_id"), unpaid.ids)

    def test_dunning_three_steps_stops_when_paid(self):
        rule = self._rule(
            trigger="dunning",
            steps=((1, "after"), (8, "after"), (15, "after")),
        )
        invoice = self._create_invoice(self.alice, 80.0)
        older = self._create_invoice(self.alice, 20.0)  # unpaid, not due yet
        self._set_due(older, date.today() + timedelta(days=5))
        self._set_due(invoice, date.today())
        self.smtp_handler.messages.clear()
        self._run_cron(rule)
        self.assertFalse(self.smtp_handler.messages, "due today: no step yet")

        # a day after the due date: step 1, the unpaid invoices attached
        self._set_due(invoice, date.today() - timedelta(days=1))
        self._run_cron(rule)
        (email,) = self.received("alice@example.com")
        self.assertEqual(email["Subject"], "Reminder 1 for Alice Person")
        self.assertEqual(
            set(self.pdf_attachments(email)),
            {invoice.invoice_pdf_report_id.name, older.invoice_pdf_report_id.name},
            "all the customer's unpaid invoices",
        )
        self._run_cron(rule)
        self.assertEqual(len(self.received("alice@example.com")), 1)

        # 8 days after: step 2 only
        self._set_due(invoice, date.today() - timedelta(days=8))
        self._run_cron(rule)
        self.assertEqual(
            self._subjects("alice@example.com"),
            ["Reminder 1 for Alice Person", "Reminder 2 for Alice Person"],
        )
        # paid before step 3: no step 3
        self._pay(invoice)
        self._set_due(invoice, date.today() - timedelta(days=15))
        self._run_cron(rule)
        self.assertEqual(len(self.received("alice@example.com")), 2)
        self.assertEqual(len(rule.message_ids), 2)
        self.assertEqual(
            rule.log_ids.mapped("step_id.sequence"), [2, 1], "steps 1 and 2 only"
        )

    def test_dunning_catch_up_sends_the_latest_step_only(self):
        rule = self._rule(
            trigger="dunning", steps=((1, "after"), (8, "after"), (15, "after"))
        )
        invoice = self._create_invoice(self.bob, 30.0)
        # the cron did not run for weeks: one reminder, the last one
        self._set_due(invoice, date.today() - timedelta(days=40))
        self.smtp_handler.messages.clear()
        self._run_cron(rule)
        self.assertEqual(
            self._subjects("bob@example.com"), ["Reminder 3 for Bob Company"]
        )
        self._run_cron(rule)
        self.assertEqual(len(self.smtp_handler.messages), 1)

    def test_dunning_pause(self):
        rule = self._rule(trigger="dunning", steps=((1, "after"), (8, "after")))
        invoice = self._create_invoice(self.alice, 80.0)
        self._set_due(invoice, date.today() - timedelta(days=1))
        # a plain Messages / User pauses the customer's reminders on the form
        with Form(self.alice.with_user(self.user_sender)) as form:
            form.customer_reminder_pause = date.today() + timedelta(days=2)
        self.smtp_handler.messages.clear()
        self._run_cron(rule)
        with freeze_time(fields.Datetime.now() + timedelta(days=2)):
            self._run_cron(rule)
        self.assertFalse(self.smtp_handler.messages, "nothing during the pause")

        # the day after the pause: the step due then, once
        with freeze_time(fields.Datetime.now() + timedelta(days=3)):
            self._run_cron(rule)
            self._run_cron(rule)
        self.assertEqual(
            self._subjects("alice@example.com"), ["Reminder 1 for Alice Person"]
        )

    def test_reseller_scope(self):
        rule = self._rule(trigger="dunning", reseller_ids=self.reseller.ids)
        self.alice.sudo().reseller_id = self.reseller
        for customer in (self.alice, self.bob):
            self._set_due(
                self._create_invoice(customer, 10.0),
                date.today() - timedelta(days=1),
            )
        self.smtp_handler.messages.clear()
        self._run_cron(rule)
        self.assertEqual(len(self.received("alice@example.com")), 1)
        self.assertFalse(self.received("bob@example.com"), "not the reseller's")

        # the policy for every customer reaches bob, not the customers of
        # the reseller with a policy of its own
        every = self._rule(trigger="dunning", name="Everybody", reseller_ids=[])
        self._run_cron(every)
        self.assertEqual(len(self.received("bob@example.com")), 1)
        self.assertEqual(len(self.received("alice@example.com")), 1)
        # the reseller's policy archived: the one for everybody applies
        rule.active = False
        self._run_cron(every)
        self.assertEqual(len(self.received("alice@example.com")), 2)
        self.assertEqual(len(self.received("bob@example.com")), 1)

    def test_working_hours(self):
        # Saturday 9 January 2027, 10:00 in Brussels (09:00 UTC)
        with freeze_time("2027-01-09 09:00:00"):
            rule = self._rule(
                trigger="dunning",
                hour=8.5,
                tz="Europe/Brussels",
                working_days_only=True,
            )
            # the next working slot: Monday 08:30 in Brussels
            self.assertEqual(rule.next_run, datetime(2027, 1, 11, 7, 30))
            invoice = self._create_invoice(self.alice, 10.0)
            self._set_due(invoice, date(2027, 1, 7))
            self.smtp_handler.messages.clear()
            # a run on Saturday, even with the rule due (Odoo was down on
            # Friday): nothing, the rule waits for Monday
            self._run_cron(rule)
            self.assertFalse(self.smtp_handler.messages)
            self.assertEqual(rule.next_run, datetime(2027, 1, 11, 7, 30))
        with freeze_time("2027-01-11 07:00:00"):
            self._trigger()
            self.assertFalse(self.smtp_handler.messages, "Monday, before the hour")
        with freeze_time("2027-01-11 07:35:00"):
            self._trigger()
            self.assertEqual(len(self.received("alice@example.com")), 1)
            self.assertEqual(rule.next_run, datetime(2027, 1, 12, 7, 30))
            self.assertTrue(rule._is_in_slot(datetime(2027, 1, 11, 7, 35)))
        self.assertFalse(rule._is_in_slot(datetime(2027, 1, 16, 9, 0)), "Saturday")
        # Friday's slot is followed by Monday's
        self.assertEqual(
            rule._get_next_slot(datetime(2027, 1, 15, 8, 0)),
            datetime(2027, 1, 18, 7, 30),
        )

    def test_prepaid_service_expiry(self):
        rule = self._rule(
            trigger="service_expiry",
            steps=((5, "before"),),
            invoice_policy="unpaid",
        )
        self.alice.billing_type = "prepaid"
        self.bob.billing_type = "recurring"
        end = date.today() + timedelta(days=5)
        service = self.alice.service_ids
        service.end_date = end
        self.bob.service_ids.end_date = end
        stopped = self.env["customer.service"].create(
            {
                "partner_id": self.alice.id,
                "tariff_id": self.tariff_voice.id,
                "status": "stopped",
                "end_date": end,
            }
        )
        unpaid = self._create_invoice(self.alice, 15.0)
        self.smtp_handler.messages.clear()
        self._run_cron(rule)
        (email,) = self.received("alice@example.com")
        self.assertEqual(email["Subject"], "Reminder 1 for Alice Person")
        self.assertEqual(
            list(self.pdf_attachments(email)),
            [unpaid.invoice_pdf_report_id.name],
            "the rule's documents",
        )
        self.assertFalse(self.received("bob@example.com"), "not prepaid")
        self.assertEqual(rule.log_ids.mapped("res_id"), service.ids)
        self.assertNotIn(stopped.id, rule.log_ids.mapped("res_id"))
        self._run_cron(rule)
        self.assertEqual(len(self.smtp_handler.messages), 1)

    def test_blocked_customer_days_after_by_sms(self):
        # at noon (UTC): the day is the same in the time zones of the users,
        # of the rule and of the server, whenever the test runs
        noon = fields.Datetime.now().replace(hour=12, minute=0, second=0)
        with freeze_time(noon):
            self._test_blocked_customer_days_after_by_sms()

    def _test_blocked_customer_days_after_by_sms(self):
        rule = self._rule(trigger="customer_blocked", steps=((2, "after"),))
        rule.step_ids.channel = "sms"
        self.alice.with_user(self.user_sender).customer_status = "blocked"
        self.assertEqual(self.alice.customer_status_date, date.today())
        self._run_cron(rule)
        self.assertFalse(FakeGateway.received, "blocked today: not yet")

        with freeze_time(fields.Datetime.now() + timedelta(days=2)):
            self._run_cron(rule)
            self._run_cron(rule)
        self.assertEqual(
            [(number, text) for _path, number, text in FakeGateway.received],
            [("+32470123456", "Reminder 1: please pay")],
        )
        self.assertEqual(rule.message_ids.channel, "sms")
        self.assertEqual(rule.log_ids.partner_id, self.alice)

        # unblocked, then blocked again three days later: a new reminder
        # two days after that
        with freeze_time(fields.Datetime.now() + timedelta(days=3)):
            self.alice.customer_status = "active"
            self.alice.customer_status = "blocked"
            self._run_cron(rule)
        self.assertEqual(len(FakeGateway.received), 1)
        with freeze_time(fields.Datetime.now() + timedelta(days=5)):
            self._run_cron(rule)
        self.assertEqual(len(FakeGateway.received), 2)
        self.assertEqual(len(rule.log_ids), 2)

    def test_users_read_managers_configure(self):
        rule = self._rule()
        Rule = self.env["customer.message.rule"].with_user(self.user_sender)
        self.assertEqual(Rule.search([("id", "=", rule.id)]).name, "Reminders")
        with self.assertRaises(AccessError):
            Rule.create({"name": "Mine", "trigger": "dunning"})
        with self.assertRaises(AccessError):
            rule.with_user(self.user_sender).name = "Renamed"
        with self.assertRaises(AccessError):
            rule.step_ids.with_user(self.user_sender).days = 3
        with self.assertRaises(AccessError):
            rule.with_user(self.user_sender).action_run_now()
        with self.assertRaises(AccessError):
            rule.with_user(self.user_internal).read(["name"])

        # the cron sends as the system: the Messages / User's customer, the
        # invoice they may not read
        customer = self._create_customer(
            "Dave Sender", email="dave@example.com", reseller_id=self.own_reseller.id
        )
        invoice = self._create_invoice(customer, 25.0)
        self._set_due(invoice, date.today() - timedelta(days=1))
        self.assertFalse(invoice.with_user(self.user_sender).has_access("read"))
        self.smtp_handler.messages.clear()
        self._run_cron(rule)
        (email,) = self.received("dave@example.com")
        self.assertEqual(len(self.pdf_attachments(email)), 1)
        # a manager runs it now: nothing is due again
        rule.with_user(self.user_manager).action_run_now()
        self.assertEqual(len(self.smtp_handler.messages), 1)

    def test_run_now(self):
        rule = self._rule(hour=23.9, working_days_only=True)
        invoice = self._create_invoice(self.bob, 25.0)
        self._set_due(invoice, date.today() - timedelta(days=1))
        self.smtp_handler.messages.clear()
        rule.with_user(self.user_manager).action_run_now()
        self.assertFalse(self.smtp_handler.messages, "queued: the cron sends it")
        self._trigger()
        self.assertEqual(len(self.received("bob@example.com")), 1)
        rule.with_user(self.user_manager).action_run_now()
        self._trigger()
        self.assertEqual(len(self.smtp_handler.messages), 1)

    def test_other_company(self):
        rule = self._rule()
        other = self.env["res.company"].create({"name": "Other ISP"})
        self.user_manager.write({"company_ids": [Command.link(other.id)]})
        Rule = (
            self.env["customer.message.rule"]
            .with_user(self.user_manager)
            .with_context(allowed_company_ids=other.ids)
        )
        self.assertFalse(Rule.search([("id", "=", rule.id)]))
        self.assertFalse(
            self.env["customer.message.rule.step"]
            .with_user(self.user_manager)
            .with_context(allowed_company_ids=other.ids)
            .search([("rule_id", "=", rule.id)])
        )
        # the other company's rule reminds its own invoices only
        other_rule = Rule.create(
            {
                "name": "Other",
                "trigger": "dunning",
                "company_id": other.id,
                "tz": "UTC",
                "hour": 0.0,
                "working_days_only": False,
                "step_ids": [
                    Command.create(
                        {"days": 1, "template_id": self.step_templates[0].id}
                    )
                ],
            }
        )
        invoice = self._create_invoice(self.alice, 25.0)
        self._set_due(invoice, date.today() - timedelta(days=1))
        self.smtp_handler.messages.clear()
        self._run_cron(other_rule)
        self.assertFalse(self.smtp_handler.messages)
        self._run_cron(rule)
        self.assertEqual(len(self.smtp_handler.messages), 1)

    def test_validation(self):
        with self.assertRaises(ValidationError):
            self._rule(
                trigger="dunning",
                steps=((1, "after"), (8, "after"), (15, "after"), (30, "after")),
            )
        with self.assertRaises(ValidationError):
            self._rule(trigger="dunning", steps=((3, "before"),))
        with self.assertRaises(ValidationError):
            self._rule(trigger="customer_blocked", steps=((3, "before"),))
        rule = self._rule(steps=((3, "before"), (3, "after")))
        self.assertEqual(rule.step_ids.mapped("sequence"), [1, 2])
        with self.assertRaises(ValidationError):
            rule.step_ids[1].with_user(self.user_manager).timing = "before"
        template = self.env["mail.template"].create(
            {
                "name": "Invoice template",
                "model_id": self.env["ir.model"]._get_id("account.move"),
                "subject": "x",
            }
        )
        with self.assertRaises(ValidationError):
            rule.step_ids[0].template_id = template
