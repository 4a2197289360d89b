import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace
from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.iap.tools import iap_tools

from .common import CustomerMessagesCommon


class FakeGateway(BaseHTTPRequestHandler):
    """An SMS gateway speaking Odoo's IAP JSON-RPC, on 127.0.0.1: the paid
    service is off this machine, so it is replaced at the HTTP boundary."""

    received = []
    wrong_numbers = set()

    def do_POST(self):
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        results = []
        for message in payload["params"]["messages"]:
            for number in message["numbers"]:
                type(self).received.append(
                    (self.path, number["number"], message["content"])
                )
                state = (
                    "wrong_number_format"
                    if number["number"] in self.wrong_numbers
                    else "success"
                )
                results.append({"uuid": number["uuid"], "state": state})
        body = json.dumps(
            {"jsonrpc": "2.0", "id": payload["id"], "result": results}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@tagged("customer_messages", "post_install", "-at_install")
class TestSmsChannel(CustomerMessagesCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.gateway = HTTPServer(("127.0.0.1", 0), FakeGateway)
        thread = threading.Thread(target=cls.gateway.serve_forever, daemon=True)
        thread.start()
        cls.addClassCleanup(cls.gateway.server_close)
        cls.addClassCleanup(cls.gateway.shutdown)
        cls.env["ir.config_parameter"].sudo().set_param(
            "sms.endpoint", f"http://127.0.0.1:{cls.gateway.server_port}"
        )
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
        cls.mute = cls._create_customer("Mute Person", customer_login="mute")

    def setUp(self):
        super().setUp()
        FakeGateway.received.clear()
        FakeGateway.wrong_numbers = set()
        # Odoo refuses IAP calls in tests; the call goes to the gateway above.
        self.startPatcher(
            patch.object(
                iap_tools,
                "modules",
                SimpleNamespace(module=SimpleNamespace(current_test=None)),
            )
        )

    def test_sms_send(self):
        FakeGateway.wrong_numbers = {"+32470654321"}
        message = self.env["customer.message"]._send_to_customers(
            self.alice | self.bob | self.mute,
            {
                "subject": "Outage",
                "sms_body": "Hello {{ object.name }}, the network is back.",
                "channel": "sms",
            },
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
