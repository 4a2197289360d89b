from odoo.tests import tagged

from .common import SendingCase


@tagged("customer_messages", "post_install", "-at_install")
class TestSendingEstimate(SendingCase):
    """The time a send takes at the sending limits, in the composer's
    confirmation, as a plain Messages / User sees it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.carol = cls._create_customer(
            "Carol Person", customer_login="carol", email="carol@example.org"
        )
        cls.dave = cls._create_customer(
            "Dave Person", customer_login="dave", email="dave@example.org"
        )
        cls.customers = cls.alice | cls.bob | cls.carol | cls.dave
        cls.Throttle = cls.env["customer.message.throttle"]
        cls.outages = cls.env.ref("customer_messages.customer_message_category_service")
        cls.marketing = cls.env.ref(
            "customer_messages.customer_message_category_marketing"
        )

    def _confirm(self, category, customers=None):
        composer = self._compose(
            mode="mass",
            partner_ids=customers or self.customers,
            channel="email",
            category_id=category,
            subject="Outage in North Town",
        )
        composer.action_confirm()
        return composer

    def test_confirmation_says_how_long(self):
        # 4 emails through the server at 3 an hour; the 2 to example.org at
        # 1 an hour: the slowest limit decides (2 h)
        server_limit = self.Throttle.create(
            {"mail_server_id": self.mail_server.id, "max_count": 3, "period": "hour"}
        )
        composer = self._confirm(self.marketing)
        self.assertEqual(composer.eta_text, "4 emails at 3/h: about 1 h 20 min")
        self.assertFalse(composer.eta_warning, "not an outage notice")
        self.Throttle.create(
            {"recipient_domains": "example.org", "max_count": 1, "period": "hour"}
        )
        composer = self._confirm(self.marketing)
        self.assertEqual(composer.eta_text, "4 emails at 1/h: about 2 h 0 min")
        # a limit of another server does not apply
        other = self.env["ir.mail_server"].create(
            {"name": "Other relay", "smtp_host": "127.0.0.1", "sequence": 50}
        )
        self.Throttle.create(
            {"mail_server_id": other.id, "max_count": 1, "period": "day"}
        )
        composer = self._confirm(self.marketing, self.alice | self.bob)
        self.assertEqual(composer.eta_text, "2 emails at 3/h: about 40 min")
        # the example.org limit paces none of these: the server's decides
        server_limit.sudo().unlink()
        composer = self._confirm(self.marketing, self.alice | self.bob)
        self.assertEqual(composer.eta_text, "2 emails: no sending limit")

    def test_outage_notice_warns_when_too_slow(self):
        throttle = self.Throttle.create(
            {"mail_server_id": self.mail_server.id, "max_count": 6, "period": "hour"}
        )
        composer = self._confirm(self.outages)
        self.assertEqual(composer.eta_text, "4 emails at 6/h: about 40 min")
        self.assertIn("takes about 40 min to reach everyone", composer.eta_warning)
        # positive twin: fast enough, no warning
        throttle.sudo().write({"max_count": 20, "period": "minute"})
        composer = self._confirm(self.outages)
        self.assertEqual(composer.eta_text, "4 emails at 20/min: less than a minute")
        self.assertFalse(composer.eta_warning)
        # without any limit: no time, no warning
        throttle.sudo().unlink()
        composer = self._confirm(self.outages)
        self.assertEqual(composer.eta_text, "4 emails: no sending limit")
        self.assertFalse(composer.eta_warning)

    def test_sms_and_email_side_by_side(self):
        """The incidents' channels: SMS and email, each at its own limits,
        in SQL (the queries do not grow with the customers)."""
        for index, customer in enumerate(self.customers):
            customer.phone = f"+3247012345{index}"
        self.Throttle.create({"channel": "sms", "max_count": 1, "period": "minute"})
        self.Throttle.create(
            {"mail_server_id": self.mail_server.id, "max_count": 1, "period": "hour"}
        )
        Message = self.env["customer.message"].with_user(self.user_sender)
        estimate = Message._estimate_sending_time(
            self.customers, ["sms", "portal_email"], category=self.outages
        )
        self.assertEqual(
            estimate["text"],
            "4 emails at 1/h: about 4 h 0 min; 4 SMS at 1/min: about 4 min",
        )
        self.assertEqual(estimate["seconds"], 4 * 3600)
        self.assertTrue(estimate["warning"])

        def queries(customers):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            Message._estimate_sending_time(customers, ["sms", "email"])
            return self.env.cr.sql_log_count - before

        self.assertEqual(queries(self.alice), queries(self.customers))
