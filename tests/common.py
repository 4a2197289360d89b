import asyncio
import email
import email.policy
import io
import json
import socket
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import SimpleNamespace
from unittest.mock import patch

from aiosmtpd.controller import Controller

from odoo import Command
from odoo.tests import Form, new_test_user
from odoo.tests import common as odoo_tests_common
from odoo.tests.common import ChromeBrowser, TransactionCase
from odoo.tools.pdf import PdfReader

from odoo.addons.base.models.ir_mail_server import IrMail_Server
from odoo.addons.iap.tools import iap_tools


class CustomerMessagesCommon(TransactionCase):
    """Users of every access level and a small ISP: a location, tariff plans,
    a reseller, built by the tests themselves (demo data is never relied on)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.user_internal = new_test_user(
            cls.env,
            login="cm_internal",
            groups="base.group_user",
            name="Plain Internal",
        )
        cls.user_messages = new_test_user(
            cls.env,
            login="cm_user",
            groups="base.group_user,customer_messages.customer_messages_group_user,"
            "account.group_account_invoice",
            name="Messages User",
            email="cm.user@example.com",
        )
        # a Messages / User with no other right: every sending path works for
        # them (no Invoicing rights, no template editing)
        cls.user_sender = new_test_user(
            cls.env,
            login="cm_sender",
            groups="base.group_user,customer_messages.customer_messages_group_user",
            name="Plain Sender",
            email="cm.sender@example.com",
        )
        # a Messages / User who may also write code in templates
        cls.user_editor = new_test_user(
            cls.env,
            login="cm_editor",
            groups="base.group_user,customer_messages.customer_messages_group_user,"
            "mail.group_mail_template_editor",
            name="Template Editor",
            email="cm.editor@example.com",
        )
        cls.user_manager = new_test_user(
            cls.env,
            login="cm_manager",
            groups="base.group_user,customer_messages.customer_messages_group_manager",
            name="Messages Manager",
            email="cm.manager@example.com",
        )
        cls.location_north, cls.location_south = cls.env["customer.location"].create(
            [{"name": "North Town", "code": "NT"}, {"name": "South Town", "code": "ST"}]
        )
        cls.tariff_fiber, cls.tariff_dsl, cls.tariff_voice, cls.tariff_ip = cls.env[
            "customer.tariff"
        ].create(
            [
                {"name": "Fiber 500", "service_type": "internet", "price": 39.0},
                {"name": "DSL 16", "service_type": "internet", "price": 19.0},
                {"name": "Voice Flat", "service_type": "voice", "price": 9.0},
                {"name": "Static IP", "service_type": "custom", "price": 5.0},
            ]
        )
        cls.reseller = cls.env["res.partner"].create(
            {"name": "Northern Reseller", "is_company": True, "is_reseller": True}
        )

    @classmethod
    def _create_customer(cls, name, tariffs=(), **values):
        """A customer with services on the given tariff plans."""
        customer = cls.env["res.partner"].create(
            {"name": name, "customer_status": "active", **values}
        )
        cls.env["customer.service"].create(
            [
                {"partner_id": customer.id, "tariff_id": tariff.id, "status": "active"}
                for tariff in tariffs
            ]
        )
        return customer

    @classmethod
    def _line(cls, message, partner):
        """The line of ``message`` for ``partner`` (one customer)."""
        return message.recipient_ids.filtered(lambda line: line.partner_id == partner)

    def assertLines(self, message, expected):
        """Each customer of ``expected`` ({partner: (state, reason)}) has one
        line on ``message``, in that state; ``reason`` is a text its failure
        reason contains, or None for a line without a failure reason."""
        for partner, (state, reason) in expected.items():
            line = self._line(message, partner)
            self.assertEqual(len(line), 1, f"one line for {partner.name}")
            self.assertEqual(
                line.state,
                state,
                f"the line of {partner.name} (reason: {line.failure_reason!r})",
            )
            if reason is None:
                self.assertFalse(
                    line.failure_reason, f"no failure reason for {partner.name}"
                )
            else:
                self.assertIn(reason, line.failure_reason or "", partner.name)


class RecordingHandler:
    """aiosmtpd handler keeping every message received; refuses the
    addresses listed in ``refused`` at RCPT time, as a real server does,
    defers (451, greylisting) those in ``deferred``, and ends the session
    (421) at RCPT time for the addresses in ``closing``, refuses the sender
    (550 5.7.26, DMARC) for those in ``unauthenticated``, answers a full
    mailbox (552 5.2.2) for those in ``full``, and answers each message after
    ``delay`` seconds (a slow relay). ``sessions`` counts the SMTP sessions
    (connections) and ``session_messages`` the messages of each one."""

    def __init__(self):
        self.messages = []
        self.refused = set()
        self.deferred = set()
        self.closing = set()
        self.unauthenticated = set()
        self.full = set()
        self.delay = 0.0
        self.session_messages = []

    @property
    def sessions(self):
        return len(self.session_messages)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if not getattr(session, "customer_messages_counted", False):
            session.customer_messages_counted = True
            session.customer_messages_index = len(self.session_messages)
            self.session_messages.append(0)
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.unauthenticated:
            return (
                "550 5.7.26 Unauthenticated email from example.com is not "
                "accepted due to domain's DMARC policy"
            )
        if address.lower() in self.closing:
            return "421 4.3.2 Service shutting down, closing channel"
        if address.lower() in self.deferred:
            return "451 4.7.1 Greylisted, please try again later"
        if address.lower() in self.refused:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        if address.lower() in self.full:
            return f"552 5.2.2 <{address}>: mailbox full"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        index = getattr(session, "customer_messages_index", None)
        if index is not None:
            self.session_messages[index] += 1
        self.messages.append(
            {
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "message": email.message_from_bytes(
                    envelope.content, policy=email.policy.default
                ),
            }
        )
        return "250 Message accepted for delivery"


class SMTPServerCase(CustomerMessagesCommon):
    """A real SMTP server on 127.0.0.1 that Odoo's queue delivers to."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            cls.smtp_port = sock.getsockname()[1]
        cls.smtp_handler = RecordingHandler()
        cls.smtp_controller = Controller(
            cls.smtp_handler, hostname="127.0.0.1", port=cls.smtp_port
        )
        cls.smtp_controller.start()
        cls.addClassCleanup(cls.smtp_controller.stop)
        cls.env["ir.mail_server"].search([]).active = False
        cls.mail_server = cls.env["ir.mail_server"].create(
            {
                "name": "Test SMTP on 127.0.0.1",
                "smtp_host": "127.0.0.1",
                "smtp_port": cls.smtp_port,
                "smtp_encryption": "none",
            }
        )
        cls.env.company.email = "isp@example.com"
        params = cls.env["ir.config_parameter"].sudo()
        # wkhtmltopdf would fetch the reports' stylesheets from the server,
        # which waits for the test's transaction: point it to a closed port,
        # the PDFs are rendered all the same, without their styles.
        params.set_param("report.url", "http://127.0.0.1:9")

    def setUp(self):
        super().setUp()
        # Odoo sends no email in tests unless told to: these tests are about
        # what really reaches the SMTP server.
        self.startPatcher(
            patch.object(IrMail_Server, "_disable_send", return_value=False)
        )
        self.smtp_handler.messages.clear()
        self.smtp_handler.refused.clear()
        self.smtp_handler.deferred.clear()
        self.smtp_handler.closing.clear()
        self.smtp_handler.unauthenticated.clear()
        self.smtp_handler.full.clear()
        self.smtp_handler.session_messages.clear()
        self.smtp_handler.delay = 0.0

    def received(self, address=None):
        """The messages the server received (for one address)."""
        return [
            item["message"]
            for item in self.smtp_handler.messages
            if address is None
            or address.lower() in [rcpt.lower() for rcpt in item["rcpt_tos"]]
        ]

    @staticmethod
    def html_body(message):
        part = message.get_body(preferencelist=("html", "plain"))
        return part.get_content() if part else ""

    @staticmethod
    def pdf_attachments(message):
        """{filename: bytes} of the PDF attachments, each checked to be a PDF.

        wkhtmltopdf draws the text of Odoo's reports as outlines, so the PDFs
        have no extractable text: tests compare them byte for byte with the
        documents' own rendered PDFs instead."""
        result = {}
        for part in message.iter_attachments():
            if part.get_content_type() == "application/pdf":
                content = part.get_content()
                assert content[:5] == b"%PDF-", f"{part.get_filename()} is not a PDF"
                assert len(PdfReader(io.BytesIO(content)).pages) >= 1
                result[part.get_filename()] = content
        return result


class SendingCase(SMTPServerCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.template = cls.env["mail.template"].create(
            {
                "name": "Service notice",
                "model_id": cls.env["ir.model"]._get_id("res.partner"),
                "subject": "Notice for {{ object.name }}",
                "body_html": "<p>Dear <t t-out='object.name'/>, your login is "
                "<t t-out='object.customer_login'/>.</p>",
                "lang": "{{ object.lang }}",
            }
        )
        cls.alice = cls._create_customer(
            "Alice Person",
            tariffs=cls.tariff_fiber,
            customer_login="alice",
            email="alice@example.com",
            location_id=cls.location_north.id,
        )
        cls.bob = cls._create_customer(
            "Bob Company",
            tariffs=cls.tariff_dsl,
            customer_login="bob",
            email="bob@example.com",
            is_company=True,
            location_id=cls.location_south.id,
        )

    @classmethod
    def _create_invoice(cls, partner, amount, post=True, invoice_date=None):
        move = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": invoice_date or date.today(),
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": "Internet subscription",
                            "quantity": 1,
                            "price_unit": amount,
                        }
                    )
                ],
            }
        )
        if post:
            move.action_post()
        return move

    @classmethod
    def _pay(cls, invoice):
        wizard = (
            cls.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({})
        )
        return wizard._create_payments()

    def _compose(self, user=None, **values):
        """The composer as the web client drives it, by default as a plain
        Messages / User."""
        composer = self.env["customer.message.composer"].with_user(
            user or self.user_sender
        )
        form = Form(composer)
        for name, value in values.items():
            setattr(form, name, value)
        return form.save()


class BrowserTour:
    """For the classes running browser tours (before HttpCase).

    Odoo waits for Chromium to start, then skips the tour: 10 s for the
    DevToolsActivePort file Chromium writes once its debugging port is open,
    then 3 s for that port to answer. On a busy machine (several test runs
    on two CPUs) Chromium takes longer to start: that, not the tours, is why
    tours were skipped there. Both waits are for a state (the file is there,
    the port answers) and end as soon as it comes: only their limits are
    raised here, so a slow start is waited for, never retried. (dev/test also
    starts Chromium once beforehand, cm_warm_browser in dev/common.sh, so the
    first start of a run does not read everything from disk.) The tours
    themselves wait for elements showing each state, never for a delay."""

    BROWSER_START_LIMIT = 60  # seconds

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.startClassPatcher(
            patch.object(
                odoo_tests_common,
                "CHECK_BROWSER_ITERATIONS",
                round(cls.BROWSER_START_LIMIT / odoo_tests_common.CHECK_BROWSER_SLEEP),
            )
        )
        json_command = ChromeBrowser._json_command
        limit = cls.BROWSER_START_LIMIT

        def patient_json_command(browser, command, timeout=3):
            return json_command(browser, command, timeout=max(timeout, limit))

        cls.startClassPatcher(
            patch.object(ChromeBrowser, "_json_command", patient_json_command)
        )


class FakeGateway(BaseHTTPRequestHandler):
    """An SMS gateway speaking Odoo's IAP JSON-RPC, on 127.0.0.1: the paid
    service is off this machine, so it is replaced at the HTTP boundary."""

    received = []
    # seconds before answering, after the request is received (a provider
    # that does not answer in time)
    delay = 0.0
    wrong_numbers = set()
    # {number: the state the gateway answers} (e.g. "optout")
    answers = {}
    webhook_urls = set()

    def do_POST(self):
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).webhook_urls.add(payload["params"]["webhook_url"])
        results = []
        for message in payload["params"]["messages"]:
            for number in message["numbers"]:
                type(self).received.append(
                    (self.path, number["number"], message["content"])
                )
        if self.delay:
            time.sleep(self.delay)
            return  # the client gave up waiting: no answer
        for message in payload["params"]["messages"]:
            for number in message["numbers"]:
                state = (
                    "wrong_number_format"
                    if number["number"] in self.wrong_numbers
                    else self.answers.get(number["number"], "success")
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


class SMSGatewayCase(CustomerMessagesCommon):
    """Odoo's SMS queue sends to the gateway stand-in on 127.0.0.1."""

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

    def setUp(self):
        super().setUp()
        FakeGateway.received.clear()
        FakeGateway.wrong_numbers = set()
        FakeGateway.answers = {}
        FakeGateway.delay = 0.0
        FakeGateway.webhook_urls = set()
        # Odoo refuses IAP calls in tests; the call goes to the gateway above.
        self.startPatcher(
            patch.object(
                iap_tools,
                "modules",
                SimpleNamespace(module=SimpleNamespace(current_test=None)),
            )
        )
