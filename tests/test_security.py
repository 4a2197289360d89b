from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.http import Request
from odoo.tests import Form, HttpCase, JsonRpcException, new_test_user, tagged
from odoo.tools import mute_logger

from .common import SendingCase

# What an attacker types where staff write content: it would store the login
# of whoever renders it in a system parameter.
CODE = "object.env['ir.config_parameter'].sudo().set_param('cm.pwned', user.login)"
CODE_INLINE = "{{ " + CODE + " }}"
CODE_QWEB = f'<p><t t-out="{CODE}"/></p>'
XSS_NAME = "<img src=x onerror=alert(1)>Eve"


@tagged("customer_messages", "post_install", "-at_install")
class TestSecurity(HttpCase, SendingCase):
    """Each sending path as the least-privileged user who would use it: a
    Messages / User with no other right (user_sender), a portal customer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal_user = new_test_user(
            cls.env,
            login="cm_portal_eve",
            groups="base.group_portal",
            name="Eve Portal",
            email="eve@example.com",
        )
        cls.eve = cls.portal_user.partner_id
        cls.eve.write(
            {
                "customer_status": "active",
                "phone": "+32 470 12 34 56",
                "country_id": cls.env.ref("base.be").id,
            }
        )

    def _rpc(self, model, method, *args, **kwargs):
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def _preview_over_http(self, values):
        """The composer's preview, as the web client asks for it."""
        spec = {"preview_subject": {}, "preview_body": {}, "preview_sms_body": {}}
        (result,) = self._rpc(
            "customer.message.composer",
            "web_save",
            [],
            {"mode": "single", "partner_id": self.alice.id, **values},
            specification=spec,
        )
        return result

    def _assert_not_run(self):
        self.assertFalse(
            self.env["ir.config_parameter"].sudo().get_param("cm.pwned"),
            "the code typed by a non-editor ran",
        )

    # 1. -----------------------------------------------------------------
    @mute_logger("odoo.http")
    def test_preview_runs_no_code_for_non_editors(self):
        self.authenticate("cm_sender", "cm_sender")
        for values in (
            {"subject": CODE_INLINE},
            {"subject": "Hi", "body_html": CODE_QWEB},
            {
                "subject": "Hi",
                "channel": "sms",
                "sms_body": CODE_INLINE,
                "partner_id": self.eve.id,
            },
        ):
            with self.subTest(values=values):
                with self.assertRaisesRegex(JsonRpcException, "AccessError"):
                    self._preview_over_http(values)
                self._assert_not_run()
        # the customer's plain fields are fine
        result = self._preview_over_http(
            {"subject": "Hi {{ object.name }}", "body_html": "<p>Dear you</p>"}
        )
        self.assertEqual(result["preview_subject"], "Hi Alice Person")

    def test_test_send_runs_no_code_for_non_editors(self):
        composer = self._compose(
            user=self.user_sender, mode="single", partner_id=self.alice, subject="Hi"
        )
        composer.write({"test_partner_id": self.alice.id, "test_email": "t@x.com"})
        with self.assertRaises(AccessError):
            composer.write({"subject": CODE_INLINE})
            composer.action_send_test()
        self._assert_not_run()
        self.assertFalse(self.smtp_handler.messages)

        # the twin: the same test send, with plain text, goes out
        composer.action_send_test()
        (email,) = self.received("t@x.com")
        self.assertEqual(email["Subject"], "Hi")

    # 2. -----------------------------------------------------------------
    def test_unchanged_template_does_not_unlock_other_fields(self):
        Message = self.env["customer.message"].with_user(self.user_sender)
        # an SMS gateway (nobody listens: nothing may reach it), so that SMS
        # pass the gate of the channel and meet the content's check
        self.env["ir.config_parameter"].sudo().set_param(
            "sms.endpoint", "http://127.0.0.1:9"
        )
        for values in (
            {"channel": "sms", "sms_body": CODE_INLINE},
            {"lang": "{{ " + CODE + " or 'en_US' }}"},
        ):
            with self.subTest(values=values), self.assertRaises(AccessError):
                Message._send_to_customers(
                    self.alice, {"template_id": self.template.id, **values}
                )
            self._assert_not_run()
        # the template alone is the template editor's: it is sent
        message = Message._send_to_customers(
            self.alice, {"template_id": self.template.id, "channel": "email"}
        )
        self.assertEqual(message.state, "sent")
        (email,) = self.received("alice@example.com")
        self.assertEqual(email["Subject"], "Notice for Alice Person")
        # and a message written since cannot get code in a field either
        with self.assertRaises(AccessError):
            message.with_user(self.user_sender).write({"sms_body": CODE_INLINE})

    # 3. -----------------------------------------------------------------
    def test_customer_name_is_not_html_for_staff(self):
        """A customer names herself with HTML in the portal; staff preview an
        SMS to her: the name is text, never markup run in the back office."""
        self.authenticate("cm_portal_eve", "cm_portal_eve")
        response = self.url_open(
            "/my/address/submit",
            data={
                "name": XSS_NAME,
                "email": "eve@example.com",
                "phone": "+32 470 12 34 56",
                "street": "Rue Haute 1",
                "city": "Brussels",
                "zipcode": "1000",
                "country_id": str(self.env.ref("base.be").id),
                "partner_id": str(self.eve.id),
                "csrf_token": Request.csrf_token(self),
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.eve.name, XSS_NAME)

        self.authenticate("cm_sender", "cm_sender")
        result = self._preview_over_http(
            {
                "partner_id": self.eve.id,
                "channel": "sms",
                "subject": "Outage",
                "sms_body": "Hello {{ object.name }}",
            }
        )
        self.assertEqual(result["preview_sms_body"], f"Hello {XSS_NAME}")
        self.assertNotIn("onerror", result["preview_body"] or "")
        result = self._preview_over_http(
            {"partner_id": self.eve.id, "subject": "Hi", "body_html": "<p>Hi</p>"}
        )
        self.assertNotIn("onerror", result["preview_body"] or "")
        # no HTML field of the module is left unsanitized
        for model in (
            "customer.message",
            "customer.message.recipient",
            "customer.message.composer",
        ):
            for field in self.env[model]._fields.values():
                if field.type == "html":
                    self.assertTrue(field.sanitize, f"{model}.{field.name}")

    # 4. -----------------------------------------------------------------
    def test_templates_of_other_models_refused(self):
        invoice_template = self.env["mail.template"].create(
            {
                "name": "Invoice template",
                "model_id": self.env["ir.model"]._get_id("account.move"),
                "subject": "Invoice {{ object.name }}",
            }
        )
        with self.assertRaises(ValidationError):
            self.env["customer.message"].with_user(self.user_sender)._send_to_customers(
                self.alice, {"template_id": invoice_template.id}
            )
        with self.assertRaises(ValidationError):
            self.env["customer.message.composer"].with_user(self.user_sender).create(
                {
                    "mode": "single",
                    "partner_id": self.alice.id,
                    "template_id": invoice_template.id,
                }
            )
        action_values = {
            "name": "Send",
            "model_id": self.env["ir.model"]._get_id("res.partner"),
            "state": "customer_message",
            "customer_message_template_id": invoice_template.id,
        }
        with self.assertRaises(ValidationError):
            self.env["ir.actions.server"].create(action_values)
        # a template in use cannot turn into one of another model
        self.env["ir.actions.server"].create(
            {**action_values, "customer_message_template_id": self.template.id}
        )
        with self.assertRaises(ValidationError):
            self.template.model_id = self.env["ir.model"]._get("account.move")
        self.assertFalse(self.smtp_handler.messages)

    # 5. -----------------------------------------------------------------
    def test_line_break_in_name_adds_no_recipient(self):
        eve = self._create_customer(
            "Eve\r\nBcc: attacker@evil.example,\n mallory@evil.example",
            customer_login="eve",
            email="eve@example.com",
        )
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(eve, {"subject": "Hello", "channel": "email"})
        )
        self.assertEqual(
            [item["rcpt_tos"] for item in self.smtp_handler.messages],
            [["eve@example.com"]],
        )
        (email,) = self.received("eve@example.com")
        (address,) = email["To"].addresses
        self.assertEqual(address.addr_spec, "eve@example.com")
        self.assertEqual(
            address.display_name,
            "Eve Bcc: attacker@evil.example, mallory@evil.example",
        )
        self.assertIsNone(email["Bcc"])
        self.assertEqual(message.recipient_ids.state, "sent")

    # 6. -----------------------------------------------------------------
    def test_history_written_by_the_system_only(self):
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(self.alice, {"subject": "Hello", "channel": "email"})
        )
        line = message.recipient_ids
        self.assertEqual(line.state, "sent")
        for user in (self.user_sender, self.user_manager):
            with self.subTest(user=user.login):
                line_as_user = line.with_user(user)
                self.assertEqual(line_as_user.partner_id, self.alice)  # readable
                for values in ({"partner_id": self.bob.id}, {"state": "error"}):
                    with self.assertRaises(AccessError):
                        line_as_user.write(values)
                with self.assertRaises(AccessError):
                    line_as_user.unlink()
                with self.assertRaises(AccessError):
                    self.env["customer.message.recipient"].with_user(user).create(
                        {"message_id": message.id, "partner_id": self.bob.id}
                    )
                with self.assertRaises(AccessError):
                    message.with_user(user).write({"subject": "Rewritten"})
        self.assertEqual(line.partner_id, self.alice)
        self.assertEqual(message.subject, "Hello")
        # the user's actions still work: the system writes them
        message.with_user(self.user_sender).action_remove()
        self.assertEqual(line.state, "removed")

    # 7. -----------------------------------------------------------------
    def test_plain_messages_user_sends(self):
        invoice = self._create_invoice(self.alice, 30.0)
        composer = self._compose(
            user=self.user_sender,
            mode="single",
            partner_id=self.alice,
            subject="Your invoice",
            body_html="<p>Here it is</p>",
            invoice_policy="last",
        )
        self.assertIn(invoice.name, composer.preview_documents)
        composer.action_confirm()
        action = composer.action_send()
        message = self.env["customer.message"].browse(action["res_id"])
        self.env["customer.message"]._cron_process()  # the cron, woken by Send
        self.assertEqual(message.state, "sent")
        (email,) = self.received("alice@example.com")
        self.assertEqual(email["Subject"], "Your invoice")
        self.assertEqual(
            list(self.pdf_attachments(email).values()),
            [invoice.invoice_pdf_report_id.raw],
        )
        # the history shows it to them
        history = Form(message.with_user(self.user_sender))
        self.assertEqual(history.state, "sent")
        self.assertEqual(len(history.recipient_ids), 1)
        # documents they may not read are refused, with words
        with self.assertRaisesRegex(UserError, "You may not send"):
            self.env["customer.message"].with_user(self.user_sender)._send_to_customers(
                self.alice,
                {"subject": "Hi", "invoice_ids": [Command.set(invoice.ids)]},
            )
        self.assertEqual(len(self.smtp_handler.messages), 1)

    # 8. -----------------------------------------------------------------
    def test_placeholder_expressions_over_rpc(self):
        """The web client's placeholder tool asks the model for the allowed
        expressions, without records."""
        self.authenticate("cm_sender", "cm_sender")
        expressions = self._rpc("res.partner", "mail_allowed_qweb_expressions")
        self.assertIn("object.name", expressions)
        self.assertIn("object.customer_login", expressions)

    # 9. -----------------------------------------------------------------
    def test_braces_in_a_name_are_text(self):
        curly = self._create_customer(
            "Curly {{ brace }}", customer_login="curly", email="curly@example.com"
        )
        composer = self._compose(
            user=self.user_sender,
            mode="single",
            partner_id=curly,
            subject="Hi {{ object.name }}",
            body_html="<p>Hello</p>",
        )
        composer.action_confirm()
        composer.action_send()
        self.env["customer.message"]._cron_process()  # the cron, woken by Send
        (email,) = self.received("curly@example.com")
        self.assertEqual(email["Subject"], "Hi Curly {{ brace }}")

    def test_resellers_configured_by_managers(self):
        with self.assertRaises(AccessError):
            self.reseller.with_user(self.user_sender).write({"name": "Renamed"})
        with self.assertRaises(AccessError):
            self.alice.with_user(self.user_sender).write({"is_reseller": True})
        with self.assertRaises(AccessError):
            self.env["res.partner"].with_user(self.user_sender).create(
                {"name": "New reseller", "is_reseller": True}
            )
        # their customers are theirs to edit, and managers configure resellers
        self.alice.with_user(self.user_sender).write({"reseller_id": self.reseller.id})
        self.reseller.with_user(self.user_manager).write({"name": "Renamed"})
        self.assertEqual(self.alice.reseller_id.name, "Renamed")

    def test_unknown_field_in_advanced_filter(self):
        composer = self._compose(user=self.user_sender, mode="mass", subject="Hi")
        composer.advanced_domain = "[('no_such_field', '=', 1)]"
        self.assertIn("no_such_field", composer.recipient_error)
        self.assertEqual(composer.recipient_count, 0)
        with self.assertRaisesRegex(UserError, "advanced filter"):
            composer.action_confirm()
        with self.assertRaisesRegex(UserError, "advanced filter"):
            composer.action_send()

    def test_name_search_elsewhere_is_odoo_s(self):
        """Customer ID, login and phone find customers in the module's pickers
        only: other apps keep Odoo's search of contacts by name."""
        self.alice.write({"phone": "+1 555 0142", "customer_login": "zq-1042"})
        Partner = self.env["res.partner"].with_user(self.user_sender)
        for search in (str(self.alice.id), "zq-1042", "555 0142"):
            with self.subTest(search=search):
                found = [pid for pid, _name in Partner.name_search(search, limit=50)]
                self.assertNotIn(self.alice.id, found)
                found = [
                    pid
                    for pid, _name in Partner.with_context(
                        customer_messages_search=True
                    ).name_search(search, limit=50)
                ]
                self.assertIn(self.alice.id, found)
