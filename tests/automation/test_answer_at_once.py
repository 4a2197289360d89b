import logging
import time
from datetime import date, timedelta

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import HttpCase, tagged
from odoo.tools import SQL, convert_file

from ..common import SendingCase

_logger = logging.getLogger(__name__)

PROCESS_CRON = "customer_messages.ir_cron_customer_message_process"
MAIL_QUEUE_CRON = "mail.ir_cron_mail_scheduler_action"


@tagged("customer_messages", "post_install", "-at_install")
class TestAnswerAtOnce(HttpCase, SendingCase):
    """The clicks that used to wait for the SMTP server and the PDFs answer
    at once: Approve, Remind, an invoice's Confirm with the shipped automation
    rule and a reminder rule's Run now record the message with its lines (the
    queue state) and wake the processing cron, as the composer's Send does;
    the chatter notifications they post wait in Odoo's mail queue, its cron
    woken. The SMTP server gets nothing during the click, everything once the
    crons ran, once (keys, logs, the approval gate and the exclusions kept).

    The SMTP server answers each message after 0.3 s (a remote relay): each
    click is timed (MEASURE in the log)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.reseller_at_once = cls.env["res.partner"].create(
            {"name": "Reseller at once", "is_company": True, "is_reseller": True}
        )
        cls.crowd = cls.env["res.partner"]
        for number in range(8):
            cls.crowd |= cls._create_customer(
                f"Crowd Customer {number}",
                email=f"crowd{number}@example.com",
                reseller_id=cls.reseller_at_once.id,
            )
        cls.env["mail.blacklist"]._add("crowd7@example.com")
        cls.blacklisted = cls.crowd[-1]
        cls.process_cron = cls.env.ref(PROCESS_CRON)
        cls.mail_queue_cron = cls.env.ref(MAIL_QUEUE_CRON)

    def setUp(self):
        super().setUp()
        self.smtp_handler.delay = 0.3
        # Odoo's mail queue cron runs here: the emails already queued (the
        # demo's, on a database with demo data) are set aside, so that what
        # reaches the SMTP server is this test's
        self.env["mail.mail"].sudo().search([("state", "=", "outgoing")]).write(
            {"state": "cancel"}
        )

    def _set_threshold(self, threshold):
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.approval_threshold", str(threshold)
        )

    def _woken(self, cron):
        return self.env["ir.cron.trigger"].search_count([("cron_id", "=", cron.id)])

    def _click(self, label, action):
        """Run a button's method as the web client does, timed; nothing may
        reach the SMTP server meanwhile, and the processing cron or Odoo's
        mail queue is woken."""
        self.smtp_handler.messages.clear()
        woken = self._woken(self.process_cron) + self._woken(self.mail_queue_cron)
        start = time.perf_counter()
        result = action()
        self.env.flush_all()
        _logger.info("MEASURE %s: %.2f s", label, time.perf_counter() - start)
        self.assertEqual(
            [item["rcpt_tos"] for item in self.smtp_handler.messages],
            [],
            f"{label}: nothing is sent during the click",
        )
        self.assertGreater(
            self._woken(self.process_cron) + self._woken(self.mail_queue_cron),
            woken,
            f"{label}: a cron is woken",
        )
        return result

    def _run_crons(self):
        self.process_cron.method_direct_trigger()
        self.mail_queue_cron.method_direct_trigger()
        self.env.invalidate_all()

    def _managers(self):
        return self.env["res.users"].search(
            [
                (
                    "all_group_ids",
                    "in",
                    self.env.ref(
                        "customer_messages.customer_messages_group_manager"
                    ).id,
                ),
                ("company_ids", "in", self.env.company.id),
                ("id", "!=", self.user_sender.id),
            ]
        )

    def _reached(self):
        return sorted(
            rcpt for item in self.smtp_handler.messages for rcpt in item["rcpt_tos"]
        )

    def test_approve(self):
        self._set_threshold(5)
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.crowd,
                {"subject": "Price change", "body_html": "<p>New prices</p>"},
                process="cron",
            )
        )
        self.assertEqual(message.state, "to_approve")

        self._click("Approve", message.with_user(self.user_manager).action_approve)

        self.assertEqual(message.state, "new", "queued")
        self.assertEqual(message.approved_uid, self.user_manager)
        # a second click (the form not reloaded yet) sends nothing more
        with self.assertRaisesRegex(UserError, "not waiting for approval"):
            message.with_user(self.user_manager).action_approve()
        self._run_crons()
        self.assertEqual(
            self._reached(),
            sorted(
                [
                    *(self.crowd - self.blacklisted).mapped("email"),
                    # every manager of the company is asked (on a database
                    # with demo data, the administrator too)
                    *filter(None, self._managers().mapped("email")),
                    "cm.sender@example.com",
                ]
            ),
            "the customers once; the manager asked, the author told, by "
            "Odoo's mail queue",
        )
        self.assertLines(message, {self.blacklisted: ("cancelled", "blacklisted")})

    def test_remind(self):
        self._set_threshold(0)
        notice = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.crowd,
                {
                    "subject": "New terms",
                    "body_html": "<p>Our terms change.</p>",
                    "channel": "portal_email",
                },
                process="now",
            )
        )
        self.assertEqual(notice.state, "sent")
        # more unread customers than the threshold: the reminder waits for a
        # manager, who is told by email (in the background)
        self._set_threshold(5)
        action = self._click("Remind", notice.with_user(self.user_sender).action_remind)
        reminder = self.env["customer.message"].browse(action["res_id"])
        self.assertEqual(reminder.state, "to_approve")
        again = notice.with_user(self.user_sender).action_remind()
        self.assertEqual(again["res_id"], reminder.id, "a double click: one reminder")
        self._run_crons()
        self.assertIn("cm.manager@example.com", self._reached())

    def test_remind_queued(self):
        """Below the threshold, the reminder is queued for the cron."""
        self._set_threshold(0)
        notice = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.crowd,
                {
                    "subject": "News",
                    "body_html": "<p>News</p>",
                    "channel": "portal_email",
                },
                process="now",
            )
        )
        action = self._click("Remind", notice.with_user(self.user_sender).action_remind)
        reminder = self.env["customer.message"].browse(action["res_id"])
        self.assertEqual(reminder.state, "new")
        self.assertEqual(
            reminder.recipient_ids.partner_id, self.crowd - self.blacklisted
        )

    def _overdue_invoices(self):
        invoices = self.env["account.move"]
        for customer in self.crowd:
            invoices |= self._create_invoice(customer, 30.0)
        self.env.flush_all()
        # sql: the invoices fell due yesterday
        self.env.cr.execute(
            SQL(
                "UPDATE account_move SET invoice_date_due = %s WHERE id IN %s",
                date.today() - timedelta(days=1),
                tuple(invoices.ids),
            )
        )
        self.env.invalidate_all()
        return invoices

    def test_run_now(self):
        invoices = self._overdue_invoices()
        rule = (
            self.env["customer.message.rule"]
            .with_user(self.user_manager)
            .create(
                {
                    "name": "Dunning at once",
                    "trigger": "dunning",
                    "hour": 0.0,
                    "tz": "UTC",
                    "working_days_only": False,
                    "reseller_ids": self.reseller_at_once.ids,
                    "step_ids": [
                        Command.create(
                            {
                                "days": 1,
                                "timing": "after",
                                "channel": "email",
                                "template_id": self.template.id,
                            }
                        )
                    ],
                }
            )
        )
        action = self._click(
            "Run now", rule.with_user(self.user_manager).action_run_now
        )
        self.assertIn("queued", action["params"]["message"])
        message = rule.message_ids
        self.assertEqual(message.state, "new")
        self.assertEqual(len(rule.log_ids), len(invoices), "each document logged")
        # a second click: nothing is due any more
        action = rule.with_user(self.user_manager).action_run_now()
        self.assertIn("Nothing is due", action["params"]["message"])
        self.assertEqual(rule.message_ids, message)

        self._run_crons()
        self.assertEqual(
            self._reached(), sorted((self.crowd - self.blacklisted).mapped("email"))
        )
        self.assertLines(message, {self.blacklisted: ("cancelled", "blacklisted")})
        self.assertEqual(
            len(self.pdf_attachments(self.received("crowd0@example.com")[0])), 1
        )

    def test_invoice_confirm(self):
        self.env.ref("customer_messages.base_automation_invoice_posted").active = True
        customer = self.crowd[0]
        invoice = self._create_invoice(customer, 120.0, post=False)
        self._click(
            "Confirm (invoice automation)",
            invoice.with_user(self.user_messages).action_post,
        )
        message = self.env["customer.message"].search(
            [("invoice_ids", "in", invoice.ids)]
        )
        self.assertEqual(message.state, "new")
        # confirmed again: the rule's key, one message
        invoice.button_draft()
        invoice.with_user(self.user_messages).action_post()
        self._run_crons()
        (email,) = self.received(customer.email)
        pdf = invoice.invoice_pdf_report_id
        self.assertEqual(self.pdf_attachments(email), {pdf.name: pdf.raw})
        self.assertEqual(
            self.env["customer.message"].search_count(
                [("invoice_ids", "in", invoice.ids)]
            ),
            1,
        )

    def test_demo_reminder_rules_active_and_safe(self):
        """The demo's rules show Run now (active) and send nothing on a
        database full of due invoices."""
        overdue = self._create_invoice(self.alice, 40.0)
        self.env.flush_all()
        # sql: the invoice fell due ten days ago: every dunning step is due
        self.env.cr.execute(
            SQL(
                "UPDATE account_move SET invoice_date_due = %s WHERE id = %s",
                date.today() - timedelta(days=10),
                overdue.id,
            )
        )
        self.env.invalidate_all()
        convert_file(
            self.env,
            "customer_messages",
            "demo/automation/customer_message_rule_demo.xml",
            {},
            mode="init",
            kind="demo",
        )
        rules = self.env.ref(
            "customer_messages.customer_message_rule_before_due_demo"
        ) | self.env.ref("customer_messages.customer_message_rule_dunning_demo")
        self.assertEqual(rules.mapped("active"), [True, True], "Run now is shown")
        self.smtp_handler.messages.clear()
        for rule in rules:
            action = rule.with_user(self.user_manager).action_run_now()
            self.assertIn("Nothing is due", action["params"]["message"])
        self.assertFalse(rules.message_ids)
        # its positive twin: without the demo's reseller, the dunning rule
        # has Alice's invoice due
        dunning = rules[1]
        dunning.reseller_ids = False
        action = dunning.with_user(self.user_manager).action_run_now()
        self.assertIn("queued", action["params"]["message"])
        self.assertIn(self.alice, dunning.message_ids.recipient_ids.partner_id)
