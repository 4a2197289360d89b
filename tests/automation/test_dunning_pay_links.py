from datetime import date, timedelta

from odoo import Command, fields
from odoo.tests import tagged

from ..test_pay_links import PayLinksCase


@tagged("customer_messages", "post_install", "-at_install")
class TestDunningPayLinks(PayLinksCase):
    """Dunning reminders carry the pay links; a paid invoice gets no
    further step and counts in the dunning report (the steps' list)."""

    def _dunning_rule(self):
        return (
            self.env["customer.message.rule"]
            .with_user(self.user_manager)
            .create(
                {
                    "name": "Dunning",
                    "trigger": "dunning",
                    "hour": 0.0,
                    "tz": "UTC",
                    "working_days_only": False,
                    "reseller_ids": self.own_reseller.ids,
                    "step_ids": [
                        Command.create(
                            {
                                "days": days,
                                "timing": "after",
                                "channel": "email",
                                "template_id": self.dunning_template.id,
                            }
                        )
                        for days in (1, 8)
                    ],
                }
            )
        )

    def _run_rule(self, rule):
        """The reminders' cron as the scheduler runs it, then the sending."""
        rule.next_run = fields.Datetime.now() - timedelta(minutes=5)
        self.env.ref(
            "customer_messages.ir_cron_customer_message_rule_run"
        ).method_direct_trigger()
        self.env.ref(
            "customer_messages.ir_cron_customer_message_process"
        ).method_direct_trigger()
        self.env.invalidate_all()

    def test_dunning_paid_after_a_step(self):
        rule = self._dunning_rule()
        step_1, step_2 = rule.step_ids.sorted("offset_days")
        alices = self._create_invoice(self.alice, 80.0)
        bobs = self._create_invoice(self.bob, 50.0)
        for invoice in alices | bobs:
            self._set_due(invoice, date.today() - timedelta(days=1))
        self._run_rule(rule)
        (link,) = self._links("alice@example.com")
        self.assertIn(f"/my/invoices/{alices.id}?access_token=", link)
        self.assertEqual(len(self._links("bob@example.com")), 1)
        page = self._open(link)
        self.assertEqual(page.status_code, 200)
        self.assertIn(alices.name, page.text)

        # Alice pays after step 1: no step 2 for her; Bob gets it
        self._pay(alices)
        self.assertIn(alices.payment_state, ("paid", "in_payment"))
        for invoice in alices | bobs:
            self._set_due(invoice, date.today() - timedelta(days=8))
        self._run_rule(rule)
        self.assertEqual(len(self.received("alice@example.com")), 1)
        self.assertEqual(len(self.received("bob@example.com")), 2)
        self.assertEqual(len(self._links("bob@example.com")), 2)

        # the dunning report, as the manager reads it
        steps = (step_1 | step_2).with_user(self.user_manager)
        self.assertEqual(steps.mapped("log_count"), [2, 1])
        self.assertEqual(steps.mapped("paid_count"), [1, 0])
        self._pay(bobs)
        steps.invalidate_recordset(["paid_count"])
        self.assertEqual(steps.mapped("paid_count"), [1, 1])
