from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .. import provider_reports
from ..common import SendingCase


class FeedbackCase(SendingCase):
    """Bulk and transactional categories of our own, and sending as a plain
    Messages / User."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Category = cls.env["customer.message.category"]
        cls.offers = Category.create(
            {"name": "Offers", "allow_opt_out": True, "one_click_unsubscribe": True}
        )
        cls.news = Category.create(
            {"name": "News", "allow_opt_out": True, "one_click_unsubscribe": True}
        )
        cls.service = Category.create({"name": "Works", "allow_opt_out": True})
        cls.billing = Category.create({"name": "Bills", "allow_opt_out": False})

    def _send(self, customers, category):
        return (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                customers,
                {"subject": "Hello", "channel": "email", "category_id": category.id},
            )
            .with_env(self.env)
        )

    def _process(self, raw):
        self.env["mail.thread"].message_process(False, raw)
        self.env.invalidate_all()

    def _opted_out(self, partner, category):
        return bool(
            self.env["customer.message.preference"].search_count(
                [
                    ("partner_id", "=", partner.id),
                    ("category_id", "=", category.id),
                    ("channel", "=", "email"),
                    ("opted_out", "=", True),
                ]
            )
        )


@tagged("customer_messages", "post_install", "-at_install")
class TestComplaints(FeedbackCase):
    """Complaint feedback loops: ARF reports (RFC 5965) as Yahoo and
    Microsoft send them, through Odoo's mail gateway."""

    def test_yahoo_complaint_opts_out_of_the_category(self):
        """The recipient is redacted: the email is known by our header and
        Message-Id; the customer is opted out of Offers on email through the
        consent gate (logged), the complaint counted for Offers."""
        self._send(self.alice | self.bob, self.offers)
        sent = self.received("alice@example.com")[-1]
        self.assertTrue(sent["X-Customer-Message-Line"])
        self._process(provider_reports.yahoo_arf(sent))

        self.assertTrue(self._opted_out(self.alice, self.offers))
        self.assertFalse(self._opted_out(self.alice, self.news), "that category only")
        self.assertFalse(self._opted_out(self.bob, self.offers), "only who complained")
        log = self.alice.customer_message_consent_log_ids
        self.assertEqual(log.mapped("source"), ["complaint"])
        self.assertEqual(log.category_id, self.offers)
        self.assertTrue(log.opted_out)
        self.assertEqual(self.offers.complaint_count, 1)
        self.assertEqual(self.news.complaint_count, 0)
        complaint = self.env["customer.message.complaint"].search(
            [("partner_id", "=", self.alice.id)]
        )
        self.assertEqual(complaint.feedback_type, "abuse")
        self.assertIn("Yahoo", complaint.user_agent)
        self.assertFalse(self.alice.message_bounce, "a complaint is no bounce")
        # staff (a plain Messages / User) see it
        self.assertEqual(
            self.env["customer.message.complaint"]
            .with_user(self.user_sender)
            .search([("partner_id", "=", self.alice.id)]),
            complaint,
        )

        # the next Offers skip her; other categories still reach her
        message = self._send(self.alice | self.bob, self.offers)
        self.assertLines(
            message,
            {
                self.alice: ("cancelled", "opted out of Offers"),
                self.bob: ("sent", None),
            },
        )
        message = self._send(self.alice, self.news)
        self.assertLines(message, {self.alice: ("sent", None)})

    def test_second_company_sees_none(self):
        """A complaint about a message of the first company is not seen by
        a Messages / User of a second company (the first one's is: see
        test_yahoo_complaint_opts_out_of_the_category)."""
        company_b = self.env["res.company"].create({"name": "Second ISP"})
        user_b = new_test_user(
            self.env,
            login="cm_complaint_b",
            groups="base.group_user,customer_messages.customer_messages_group_user",
            company_id=company_b.id,
            company_ids=[company_b.id],
        )
        self._send(self.alice, self.offers)
        self._process(
            provider_reports.yahoo_arf(self.received("alice@example.com")[-1])
        )
        Complaint = self.env["customer.message.complaint"]
        self.assertEqual(len(Complaint.search([("partner_id", "=", self.alice.id)])), 1)
        self.assertFalse(Complaint.with_user(user_b).search([]))
        self.assertTrue(Complaint.with_user(self.user_sender).search([]))
        with self.assertRaises(AccessError):
            Complaint.with_user(self.user_sender).create(
                {"partner_id": self.bob.id, "category_id": self.offers.id}
            )

    def test_found_by_our_header_alone(self):
        """No Message-Id returned: our signed header names the email; a
        forged header names nothing (its twin)."""
        self._send(self.alice, self.offers)
        sent = self.received("alice@example.com")[-1]
        forged = provider_reports.yahoo_arf(sent, keep_message_id=False).replace(
            sent["X-Customer-Message-Line"],
            sent["X-Customer-Message-Line"][:-4] + "0000",
        )
        self._process(forged)
        self.assertFalse(self._opted_out(self.alice, self.offers))
        self.assertEqual(self.offers.complaint_count, 0)

        self._process(provider_reports.yahoo_arf(sent, keep_message_id=False))
        self.assertTrue(self._opted_out(self.alice, self.offers))
        self.assertEqual(self.offers.complaint_count, 1)

    def test_microsoft_jmrp_headers_only(self):
        self._send(self.bob, self.offers)
        sent = self.received("bob@example.com")[-1]
        self._process(provider_reports.microsoft_jmrp(sent))
        self.assertTrue(self._opted_out(self.bob, self.offers))
        self.assertEqual(self.offers.complaint_count, 1)

    def test_bulk_scope_setting(self):
        """customer_messages.complaint_opt_out_scope = bulk: every bulk
        category, not the others."""
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.complaint_opt_out_scope", "bulk"
        )
        self._send(self.alice, self.offers)
        self._process(
            provider_reports.yahoo_arf(self.received("alice@example.com")[-1])
        )
        self.assertTrue(self._opted_out(self.alice, self.offers))
        self.assertTrue(self._opted_out(self.alice, self.news))
        self.assertFalse(self._opted_out(self.alice, self.service))

    def test_complaint_about_a_bill_is_counted_only(self):
        """Billing may not be turned off: the complaint is counted, the
        customer still gets bills."""
        self._send(self.alice, self.billing)
        self._process(
            provider_reports.yahoo_arf(self.received("alice@example.com")[-1])
        )
        complaint = self.env["customer.message.complaint"].search(
            [("partner_id", "=", self.alice.id)]
        )
        self.assertEqual(complaint.category_id, self.billing)
        self.assertFalse(complaint.opted_out)
        self.assertFalse(self._opted_out(self.alice, self.billing))
        message = self._send(self.alice, self.billing)
        self.assertLines(message, {self.alice: ("sent", None)})


@tagged("customer_messages", "post_install", "-at_install")
class TestCircuitBreaker(FeedbackCase):
    """Bulk categories pause by themselves when their complaint or bounce
    rate passes the settings; the others never do."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.others = cls.env["res.partner"]
        for index in range(3):
            cls.others |= cls._create_customer(
                f"Customer {index}", email=f"customer{index}@example.com"
            )
        cls.customers = cls.alice | cls.bob | cls.others
        params = cls.env["ir.config_parameter"].sudo()
        params.set_param("customer_messages.breaker_min_volume", "5")

    def setUp(self):
        super().setUp()
        self.env.cr.cache.pop("customer_messages_breaker", None)

    def _complain(self, partner):
        sent = self.received(partner.email)[-1]
        self._process(provider_reports.yahoo_arf(sent))

    def test_complaint_rate_pauses_bulk_not_billing(self):
        self._send(self.customers, self.offers)
        self.assertEqual(len(self.received()), 5)
        self._complain(self.alice)  # 1 of 5: 20 %, above 0.3 %
        self.smtp_handler.messages.clear()

        message = self._send(self.customers, self.offers)
        self.assertFalse(self.received(), "nothing sent while paused")
        self.assertTrue(self.offers.is_paused)
        self.assertIn("complaint rate of Offers", message.pause_reason)
        self.assertIn("20.00 %", message.pause_reason)
        self.assertEqual(message.state, "processing")
        held = message.recipient_ids - self._line(message, self.alice)
        self.assertEqual(set(held.mapped("state")), {"new"}, "held, not cancelled")
        managers = self.user_manager.partner_id
        notice = message.message_ids.filtered(lambda note: managers in note.partner_ids)
        self.assertIn("circuit breaker", notice.body)
        # the same numbers never pause bills
        bills = self._send(self.customers, self.billing)
        self.assertEqual(set(bills.recipient_ids.mapped("state")), {"sent"})
        self.assertEqual(len(self.received()), 5)

        # a plain Messages / User may not resume; a manager may
        with self.assertRaises(AccessError):
            self.offers.with_user(self.user_sender).action_resume_sending()
        with self.assertRaises(AccessError):
            self.offers.with_user(self.user_manager).write({"is_paused": False})
        self.offers.with_user(self.user_manager).action_resume_sending()
        self.assertFalse(self.offers.is_paused)
        self.smtp_handler.messages.clear()
        message._process()
        self.assertEqual(len(self.received()), 4, "all but who complained")
        self.assertFalse(message.pause_reason)
        self.assertLines(message, {self.bob: ("sent", None)})

    def test_bounce_rate_pauses(self):
        self.smtp_handler.refused.add("bob@example.com")
        self._send(self.customers, self.offers)  # 1 hard bounce of 5: 20 %
        self.smtp_handler.refused.clear()
        self.smtp_handler.messages.clear()
        message = self._send(self.customers - self.bob, self.offers)
        self.assertIn("bounce rate of Offers", message.pause_reason)
        self.assertFalse(self.received())

    def test_queued_emails_wait_too(self):
        """An email already queued (deferred by the relay, tried again by
        the sending cron) is held by the same gate once the category is
        paused: it waits, nothing is sent, nobody is cancelled."""
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.breaker_min_volume", "4"
        )
        self.smtp_handler.deferred.add("bob@example.com")
        message = self._send(self.customers, self.offers)
        mail = self.env["mail.mail"].search(
            [("customer_message_recipient_id", "=", self._line(message, self.bob).id)]
        )
        self.assertEqual(mail.state, "outgoing")
        self._complain(self.alice)  # 1 of 4 done: 25 %
        self.smtp_handler.deferred.clear()
        self.smtp_handler.messages.clear()
        mail.scheduled_date = "2000-01-01 00:00:00"
        self.env["customer.message"]._deliver_queued_emails()
        self.assertFalse(self.received("bob@example.com"))
        self.assertEqual(mail.state, "outgoing")
        self.assertGreater(mail.scheduled_date, message.create_date)
        self.assertIn("complaint rate", message.pause_reason)
        self.assertEqual(self._line(message, self.bob).state, "processing")

        # its twin: resumed, the cron sends it
        self.offers.with_user(self.user_manager).action_resume_sending()
        self.env["customer.message"]._deliver_queued_emails()
        self.assertEqual(len(self.received("bob@example.com")), 1)

    def test_below_the_minimum_volume_no_pause(self):
        """The twin: the same complaint with fewer emails than the minimum
        volume pauses nothing."""
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.breaker_min_volume", "100"
        )
        self._send(self.customers, self.offers)
        self._complain(self.alice)
        self.smtp_handler.messages.clear()
        message = self._send(self.customers, self.offers)
        self.assertFalse(self.offers.is_paused)
        self.assertFalse(message.pause_reason)
        self.assertEqual(len(self.received()), 4)
