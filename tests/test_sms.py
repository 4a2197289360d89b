from datetime import timedelta
from unittest.mock import patch
from urllib.parse import urlsplit
from uuid import uuid4

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import Form, HttpCase, tagged
from odoo.tools import mute_logger

from odoo.addons.iap.tools import iap_tools

from .common import FakeGateway, SMSGatewayCase


@tagged("customer_messages", "post_install", "-at_install")
class TestSmsChannel(HttpCase, SMSGatewayCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        belgium = cls.env.ref("base.be")
        cls.alice = cls._create_customer(
            "Alice Person",
            customer_login="alice",
            phone="+32 470 12 34 56",
            country_id=belgium.id,
        )
        cls.bob = cls._create_customer(
            "Bob Person",
            customer_login="bob",
            phone="+32 470 65 43 21",
            country_id=belgium.id,
        )
        cls.carol = cls._create_customer(
            "Carol Person",
            customer_login="carol",
            phone="+32 470 11 22 33",
            country_id=belgium.id,
        )
        cls.mute = cls._create_customer("Mute Person", customer_login="mute")

    def test_sms_cancelled_in_odoo_queue(self):
        """An SMS cancelled from Odoo's SMS list cancels its line; the message
        ends when nothing is left to send."""
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.alice | self.bob,
                {
                    "subject": "Outage",
                    "channel": "sms",
                    "scheduled_date": fields.Datetime.now() + timedelta(days=1),
                },
            )
            .with_env(self.env)
        )
        message.state = "processing"
        message._queue_batch(message.recipient_ids)  # queued, not sent yet
        by_partner = {line.partner_id: line for line in message.recipient_ids}
        by_partner[self.alice].sms_id.action_set_canceled()
        self.assertEqual(by_partner[self.alice].state, "cancelled")
        self.assertEqual(by_partner[self.bob].state, "processing")
        self.assertEqual(message.state, "processing")
        by_partner[self.bob].sms_id.action_set_canceled()
        self.assertEqual(set(message.recipient_ids.mapped("state")), {"cancelled"})
        self.assertNotEqual(message.state, "processing")
        self.assertFalse(FakeGateway.received)

    def test_sms_send(self):
        FakeGateway.wrong_numbers = {"+32470654321"}
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.alice | self.bob | self.mute,
                {
                    "subject": "Outage",
                    "sms_body": "Hello {{ object.name }}, the network is back.",
                    "channel": "sms",
                },
            )
        )
        self.assertEqual(
            sorted(FakeGateway.received),
            [
                (
                    "/api/sms/3/send",
                    "+32470123456",
                    "Hello Alice Person, the network is back.",
                ),
                (
                    "/api/sms/3/send",
                    "+32470654321",
                    "Hello Bob Person, the network is back.",
                ),
            ],
        )
        by_partner = {line.partner_id: line for line in message.recipient_ids}
        self.assertEqual(by_partner[self.alice].state, "sent")
        self.assertEqual(
            by_partner[self.alice].sms_body, "Hello Alice Person, the network is back."
        )
        self.assertEqual(by_partner[self.bob].state, "error")
        self.assertEqual(by_partner[self.bob].failure_reason, "Wrong Number Format")
        self.assertEqual(by_partner[self.mute].state, "cancelled")
        self.assertIn("no phone number", by_partner[self.mute].failure_reason)
        self.assertEqual(message.state, "error")

        FakeGateway.received.clear()
        FakeGateway.wrong_numbers = set()
        message.action_retry_failed()
        self.assertEqual(
            [number for _path, number, _text in FakeGateway.received], ["+32470654321"]
        )
        self.assertEqual(by_partner[self.bob].state, "sent")
        self.assertEqual(message.state, "sent")

    def _post_delivery_report(self, sms_status, uuids):
        """Post a delivery report as the provider does: JSON-RPC to the
        webhook Odoo gave it with the SMS, as the public user, with no token."""
        (webhook_url,) = FakeGateway.webhook_urls
        response = self.url_open(
            urlsplit(webhook_url).path,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "call",
                "params": {
                    "message_statuses": [{"sms_status": sms_status, "uuids": uuids}]
                },
            },
        )
        response.raise_for_status()
        self.assertEqual(response.json().get("result"), "OK", response.text)
        # the report was written by the HTTP request, in its own cache
        self.env.invalidate_all()

    def _send_sms_message(self, partners):
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                partners,
                {
                    "subject": "Maintenance",
                    "sms_body": "Hello {{ object.name }}, maintenance tonight.",
                    "channel": "sms",
                },
            )
        )
        # the test then plays the provider, as the system
        message = message.with_env(self.env)
        return message, {line.partner_id: line for line in message.recipient_ids}

    def test_sms_delivery_reports(self):
        message, by_partner = self._send_sms_message(self.alice | self.bob | self.carol)
        lines = message.recipient_ids
        self.assertEqual(set(lines.mapped("state")), {"sent"})
        self.assertEqual(message.state, "sent")
        self.assertEqual(
            {urlsplit(url).path for url in FakeGateway.webhook_urls}, {"/sms/status"}
        )
        uuid_of = {partner: line.sms_id.uuid for partner, line in by_partner.items()}
        earlier = fields.Datetime.now() - timedelta(hours=1)
        by_partner[self.alice].sent_date = earlier
        lines.flush_recordset()
        tracked = ["state", "failure_reason", "sent_date", "done_date"]

        # a report about an SMS Odoo does not know changes nothing
        before = lines.read(tracked)
        self._post_delivery_report("not_delivered", [uuid4().hex])
        self.assertEqual(lines.read(tracked), before)

        self._post_delivery_report("delivered", [uuid_of[self.alice]])
        self.assertEqual(by_partner[self.alice].state, "sent")
        self.assertEqual(by_partner[self.alice].sent_date, earlier)
        self.assertFalse(by_partner[self.alice].failure_reason)
        self.assertEqual(message.state, "sent")

        self._post_delivery_report("not_delivered", [uuid_of[self.bob]])
        self.assertEqual(by_partner[self.bob].state, "error")
        self.assertEqual(by_partner[self.bob].failure_reason, "Not Delivered")
        self.assertEqual(message.state, "error")

        self._post_delivery_report("invalid_destination", [uuid_of[self.carol]])
        self.assertEqual(by_partner[self.carol].state, "error")
        self.assertEqual(
            by_partner[self.carol].failure_reason, "Bounced: Invalid Destination"
        )

        # delivered after all: the line is sent again, since it was sent
        by_partner[self.bob].sent_date = earlier
        lines.flush_recordset()
        self._post_delivery_report("delivered", [uuid_of[self.bob]])
        self.assertEqual(by_partner[self.bob].state, "sent")
        self.assertEqual(by_partner[self.bob].sent_date, earlier)
        self.assertFalse(by_partner[self.bob].failure_reason)
        self.assertEqual(by_partner[self.alice].state, "sent")
        self.assertEqual(message.state, "error")  # Carol's SMS still failed

    def test_sms_delivery_report_after_retry(self):
        message, by_partner = self._send_sms_message(self.bob)
        line = by_partner[self.bob]
        first_uuid = line.sms_id.uuid
        self._post_delivery_report("expired", [first_uuid])
        self.assertEqual(line.state, "error")
        self.assertEqual(line.failure_reason, "Expired")

        message.action_retry_failed()
        self.assertEqual(line.state, "sent")
        self.assertNotEqual(line.sms_id.uuid, first_uuid)
        # the line follows its new SMS: a late report on the first one is ignored
        self._post_delivery_report("rejected", [first_uuid])
        self.assertEqual(line.state, "sent")
        self._post_delivery_report("rejected", [line.sms_id.uuid])
        self.assertEqual(line.state, "error")
        self.assertEqual(line.failure_reason, "Bounced: Rejected")

    @mute_logger("odoo.addons.iap.tools.iap_tools", "odoo.tools.translate")
    def test_gateway_down_is_temporary(self):
        """A gateway that cannot be reached fails nobody: the SMS is tried
        again later, and given up only after the retry lifetime."""
        params = self.env["ir.config_parameter"].sudo()
        endpoint = params.get_param("sms.endpoint")
        params.set_param("sms.endpoint", "http://127.0.0.1:9")  # nobody there
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(self.alice, {"subject": "Outage", "channel": "sms"})
            .with_env(self.env)
        )
        line = message.recipient_ids
        self.assertEqual(line.state, "processing")
        self.assertEqual(line.sms_id.state, "outgoing")
        self.assertEqual(line.delivery_attempts, 1)
        self.assertEqual(line.last_answer, "Server Error")
        self.assertGreater(line.next_try_date, fields.Datetime.now())
        self.assertEqual(message.state, "processing")
        cron = self.env.ref("sms.ir_cron_sms_scheduler_action")
        self.assertTrue(
            self.env["ir.cron.trigger"].search(
                [("cron_id", "=", cron.id), ("call_at", ">", fields.Datetime.now())]
            ),
            "the SMS queue is woken for the next try",
        )

        params.set_param("sms.endpoint", endpoint)  # back
        line.sms_id._send(unlink_failed=False, unlink_sent=True)  # Odoo's queue
        self.assertEqual(len(FakeGateway.received), 1)
        self.assertEqual(line.state, "sent")
        self.assertEqual(message.state, "sent")

    @mute_logger(
        "odoo.addons.iap.tools.iap_tools",
        "odoo.addons.customer_messages.models.sms_sms",
        "odoo.tools.translate",
    )
    def test_provider_timeout_leaves_the_sms_in_doubt(self):
        """The provider got the request and did not answer in time: it may
        have sent the text. The SMS is in doubt, shown on its line, and not
        sent again by the next runs of the crons."""
        iap_jsonrpc = iap_tools.iap_jsonrpc
        # the gateway answers after 2 s; Odoo waits 1 s (15 s in production)
        self.startPatcher(
            patch.object(
                iap_tools,
                "iap_jsonrpc",
                lambda *args, **kwargs: iap_jsonrpc(*args, **dict(kwargs, timeout=1)),
            )
        )
        FakeGateway.delay = 2.0
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(self.alice, {"subject": "Outage", "channel": "sms"})
            .with_env(self.env)
        )
        line = message.recipient_ids
        self.assertEqual(len(FakeGateway.received), 1, "the provider got it")
        self.assertEqual(line.state, "error")
        self.assertIn("In doubt", line.failure_reason)
        self.assertIn("not sent again", line.failure_reason)
        self.assertTrue(line.sms_id.customer_message_in_doubt)
        self.assertNotEqual(line.sms_id.state, "outgoing")

        FakeGateway.delay = 0.0
        self.env["sms.sms"]._process_queue()  # Odoo's SMS queue
        self.env["customer.message"]._cron_process()
        self.assertEqual(len(FakeGateway.received), 1, "never sent again by itself")
        self.assertEqual(line.state, "error")

        # a delivery report saying it was delivered settles the doubt
        self._post_delivery_report("delivered", [line.sms_id.uuid])
        self.assertEqual(line.state, "sent")

    @mute_logger("odoo.addons.iap.tools.iap_tools", "odoo.tools.translate")
    def test_refused_connection_is_retried_and_sent_once(self):
        """The twin: a refused connection never reached the provider; the
        SMS is tried again by the queue and sent once."""
        params = self.env["ir.config_parameter"].sudo()
        endpoint = params.get_param("sms.endpoint")
        params.set_param("sms.endpoint", "http://127.0.0.1:9")  # refused
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(self.alice, {"subject": "Outage", "channel": "sms"})
            .with_env(self.env)
        )
        line = message.recipient_ids
        self.assertEqual(line.state, "processing")
        self.assertEqual(line.sms_id.state, "outgoing", "tried again")
        params.set_param("sms.endpoint", endpoint)
        for _run in range(2):  # Odoo's SMS queue, twice
            self.env["sms.sms"].search([("state", "=", "outgoing")]).send(
                unlink_failed=False, unlink_sent=True
            )
        self.env["customer.message"]._cron_process()
        self.assertEqual(len(FakeGateway.received), 1)
        self.assertEqual(line.state, "sent")

    @mute_logger("odoo.addons.iap.tools.iap_tools", "odoo.tools.translate")
    def test_gateway_down_gives_up_after_the_lifetime(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("sms.endpoint", "http://127.0.0.1:9")
        params.set_param("customer_messages.retry_lifetime", "0")
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(self.alice, {"subject": "Outage", "channel": "sms"})
            .with_env(self.env)
        )
        line = message.recipient_ids
        self.assertEqual(line.state, "error")
        self.assertEqual(line.failure_reason, "Gave up after 1 attempts: Server Error")

    def test_segments_and_cost_on_the_confirmation(self):
        """The confirmation counts the SMS segments (as rendered, GSM-7 or
        Unicode) times the recipients, and their cost when a price per
        segment is set; the text field's counter counts it as rendered."""
        composer = Form(
            self.env["customer.message.composer"].with_user(self.user_sender)
        )
        composer.mode = "mass"
        composer.channel = "sms"
        composer.subject = "Outage"
        composer.sms_body = "Dear {{ object.name }}, " + "x" * 150
        composer.partner_ids.add(self.alice)
        composer.partner_ids.add(self.bob)
        composer = composer.save()
        self.assertIn("2 SMS of", composer.sms_segment_info, "over 160: two parts")
        # the counter under the text: as the previewed customer gets it
        self.assertEqual(
            composer.sms_counter,
            "169 characters, 2 SMS (GSM-7), as sent to Alice Person",
        )
        self.assertIn("GSM-7", composer.sms_segment_info)
        self.assertEqual(composer.sms_total_segments, 4)
        self.assertFalse(composer.sms_cost)
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.sms_price_per_segment", "0.05"
        )
        composer.sms_body = "Привет {{ object.name }}"
        composer.invalidate_recordset()
        self.assertIn("Unicode", composer.sms_segment_info)
        self.assertEqual(composer.sms_total_segments, 2)
        self.assertAlmostEqual(composer.sms_cost, 0.1)
        arch = composer.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('widget="customer_message_sms"', arch)

    def _sms_composer(self, **values):
        composer = Form(
            self.env["customer.message.composer"].with_user(self.user_sender)
        )
        composer.partner_id = self.alice
        composer.channel = "sms"
        composer.subject = "Outage"
        composer.sms_body = "Hello {{ object.name }}, the network is down."
        for name, value in values.items():
            setattr(composer, name, value)
        return composer.save()

    def test_sms_test_to_a_number(self):
        """Send test by SMS: the SMS as rendered for the customer goes to the
        test number, at once."""
        composer = self._sms_composer(
            test_partner_id=self.alice, test_phone="+32 470 99 88 77"
        )
        action = composer.action_send_test()
        self.assertEqual(
            FakeGateway.received,
            [
                (
                    "/api/sms/3/send",
                    "+32470998877",
                    "Hello Alice Person, the network is down.",
                )
            ],
        )
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("+32470998877", action["params"]["message"])
        composer.test_phone = "not a number"
        with self.assertRaisesRegex(UserError, "valid test number"):
            composer.action_send_test()

    @mute_logger("odoo.addons.iap.tools.iap_tools")
    def test_no_sms_provider(self):
        """No SMS provider set up (Odoo's IAP without a registered account,
        no gateway of its own): one gate refuses SMS on every path, clearly
        and before any message or line is made: the composer (a real send
        and a test), code, a message with an SMS fallback (recurring
        messages: tests/automation/test_schedules.py; incident notices:
        tests/incident/test_incidents.py)."""
        params = self.env["ir.config_parameter"].sudo()
        gateway = params.get_param("sms.endpoint")
        params.set_param("sms.endpoint", False)
        Message = self.env["customer.message"].with_user(self.user_sender)
        composer = self._sms_composer(
            test_partner_id=self.alice, test_phone="+32 470 99 88 77"
        )
        for action in (composer.action_send, composer.action_send_test):
            with self.assertRaisesRegex(UserError, "No SMS provider is set up for"):
                action()
        messages_before = Message.sudo().search_count([])
        lines_before = self.env["customer.message.recipient"].search_count([])
        for send in (
            lambda: Message._send_to_customers(
                self.alice, {"subject": "Outage", "channel": "sms"}
            ),
            lambda: Message._send_to_customers(
                self.alice,
                {"subject": "Outage", "channel": "email", "fallback_channel": "sms"},
            ),
        ):
            with self.assertRaisesRegex(UserError, "Settings > General Settings > SMS"):
                send()
        self.assertEqual(Message.sudo().search_count([]), messages_before)
        self.assertEqual(
            self.env["customer.message.recipient"].search_count([]), lines_before
        )
        self.assertFalse(FakeGateway.received)

        # a provider removed after the message was queued: its lines fail
        # with the reason, nothing is retried for days
        params.set_param("sms.endpoint", "http://127.0.0.1:9")
        message = Message._send_to_customers(
            self.alice,
            {
                "subject": "Outage",
                "channel": "sms",
                "scheduled_date": fields.Datetime.now() + timedelta(hours=1),
            },
        ).with_env(self.env)
        params.set_param("sms.endpoint", False)
        message.scheduled_date = fields.Datetime.now()
        message._process()
        line = message.recipient_ids
        self.assertEqual(line.state, "error")
        self.assertIn("No SMS provider is set up for", line.failure_reason)
        self.assertFalse(line.sms_id)

        # a gateway (as in the other tests): the same sends go
        params.set_param("sms.endpoint", gateway)
        sent = Message._send_to_customers(
            self.alice, {"subject": "Outage", "channel": "sms"}
        ).with_env(self.env)
        self.assertEqual(sent.recipient_ids.state, "sent")
        self.assertEqual(len(FakeGateway.received), 1)

        # a registered SMS account through Odoo's IAP: no setup error
        params.set_param("sms.endpoint", False)
        self.env["iap.account"].create(
            {
                "service_id": self.env.ref("sms.iap_service_sms").id,
                "state": "registered",
            }
        )
        self.assertIsNone(self.env["customer.message"]._get_sms_setup_error())
