import json
import re

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from ..common import FakeGateway, SendingCase, SMSGatewayCase


@tagged("customer_messages", "post_install", "-at_install")
class TestConsent(HttpCase, SendingCase):
    """Categories and opt-outs: a portal customer (Pam) and a company contact
    with her own login (Quinn, of Quay Homes) set their preferences over
    HTTP; Marketing carries one-click unsubscribe headers, Billing goes to the
    invoice address contact."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.billing = cls.env.ref("customer_messages.customer_message_category_billing")
        cls.marketing = cls.env.ref(
            "customer_messages.customer_message_category_marketing"
        )
        cls.legal = cls.env.ref("customer_messages.customer_message_category_legal")
        cls.pam = cls._create_customer(
            "Pam Portal", customer_login="pam", email="pam@example.com"
        )
        cls.quay = cls._create_customer(
            "Quay Homes",
            customer_login="quay",
            email="quay@example.com",
            is_company=True,
        )
        cls.quinn = cls.env["res.partner"].create(
            {
                "name": "Quinn Quay",
                "parent_id": cls.quay.id,
                "email": "quinn@example.com",
            }
        )
        cls.quay_accounts = cls.env["res.partner"].create(
            {
                "name": "Quay Homes Accounts",
                "parent_id": cls.quay.id,
                "type": "invoice",
                "email": "accounts@quay.example.com",
            }
        )
        for partner, login in (
            (cls.pam, "cm_portal_pam"),
            (cls.quinn, "cm_portal_quinn"),
        ):
            new_test_user(
                cls.env,
                login=login,
                groups="base.group_portal",
                partner_id=partner.id,
                name=partner.name,
                email=partner.email,
                context={"no_reset_password": True},
            )
        cls.template_marketing = cls.env["mail.template"].create(
            {
                "name": "Summer offer",
                "model_id": cls.env["ir.model"]._get_id("res.partner"),
                "subject": "Summer offer for {{ object.name }}",
                "body_html": "<p>Fiber 1000 at half price.</p>",
                "customer_message_category_id": cls.marketing.id,
            }
        )

    def _send(self, partners, category, subject="Hello", **values):
        return (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                partners,
                {
                    "subject": subject,
                    "body_html": "<p>Hi</p>",
                    "channel": "email",
                    "category_id": category.id,
                    **values,
                },
            )
        )

    def _preferences_form(self):
        response = self.url_open("/my/message-preferences")
        self.assertEqual(response.status_code, 200)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', response.text).group(1)
        shown = re.findall(r'name="shown" value="([^"]+)"', response.text)
        return response, csrf, shown

    # ------------------------------------------------------------------
    def test_portal_opt_out_excludes_marketing_not_billing(self):
        self.authenticate("cm_portal_pam", "cm_portal_pam")
        response, csrf, shown = self._preferences_form()
        # billing and legal are shown locked: not part of the choices
        self.assertNotIn(f"{self.billing.id}-email", shown)
        self.assertNotIn(f"{self.legal.id}-email", shown)
        self.assertIn(f"{self.marketing.id}-email", shown)
        self.assertIn("/my/message-preferences", self.url_open("/my").text)
        receives = [key for key in shown if key != f"{self.marketing.id}-email"]
        response = self.url_open(
            "/my/message-preferences",
            data={"csrf_token": csrf, "shown": shown, "receives": receives},
        )
        self.assertEqual(response.status_code, 200)
        self.assertIn("o_customer_message_preferences_saved", response.text)
        self.env.invalidate_all()
        self.assertEqual(
            self.pam.customer_message_preference_ids.filtered("opted_out").mapped(
                lambda p: (p.category_id, p.channel)
            ),
            [(self.marketing, "email")],
        )

        marketing = self._send(self.pam | self.alice, self.marketing, "Offer")
        self.assertLines(
            marketing,
            {
                self.pam: ("cancelled", "opted out of Marketing messages"),
                self.alice: ("sent", None),
            },
        )
        self.assertEqual(
            self._line(marketing, self.pam).failure_reason,
            "Excluded: opted out of Marketing messages",
        )
        self.assertFalse(self.received("pam@example.com"))
        self.assertEqual(len(self.received("alice@example.com")), 1)

        billing = self._send(self.pam, self.billing, "Your invoice")
        self.assertLines(billing, {self.pam: ("sent", None)})
        (email,) = self.received("pam@example.com")
        self.assertEqual(email["Subject"], "Your invoice")

        # SMS and portal were left on: a portal Marketing message reaches her
        portal = self._send(self.pam, self.marketing, "In the portal", channel="portal")
        self.assertLines(portal, {self.pam: ("sent", None)})

    def test_crafted_post_cannot_opt_out_of_billing(self):
        self.authenticate("cm_portal_pam", "cm_portal_pam")
        _response, csrf, shown = self._preferences_form()
        with mute_logger("odoo.http"):
            response = self.url_open(
                "/my/message-preferences",
                data={
                    "csrf_token": csrf,
                    "shown": [*shown, f"{self.billing.id}-email"],
                    "receives": shown,
                },
            )
        self.assertEqual(response.status_code, 403)
        self.env.invalidate_all()
        self.assertFalse(self.pam.customer_message_preference_ids)
        # nor through the ORM, by staff
        with self.assertRaises(ValidationError):
            self.env["customer.message.preference"].with_user(self.user_sender).create(
                {
                    "partner_id": self.pam.id,
                    "category_id": self.billing.id,
                    "channel": "email",
                }
            )

    def test_list_unsubscribe_headers(self):
        marketing = self._send(self.alice, self.marketing, "Offer")
        (email,) = self.received("alice@example.com")
        self.assertEqual(email["List-Unsubscribe-Post"], "List-Unsubscribe=One-Click")
        links = re.findall(r"<([^>]+)>", email["List-Unsubscribe"])
        self.assertEqual(len(links), 2)
        url = next(link for link in links if link.startswith("http"))
        self.assertIn(f"/customer_messages/unsubscribe/{self.alice.id}/", url)
        self.assertTrue(any(link.startswith("mailto:") for link in links))
        self.assertEqual(self._line(marketing, self.alice).state, "sent")

        self.smtp_handler.messages.clear()
        # sent at once (the approval of legal notices is tested in test_approval)
        self.legal.requires_approval = False
        for category in (self.billing, self.legal):
            self._send(self.alice, category, "Notice")
        emails = self.received("alice@example.com")
        self.assertEqual(len(emails), 2)
        for email in emails:
            self.assertIsNone(email["List-Unsubscribe"])
            self.assertIsNone(email["List-Unsubscribe-Post"])

    def test_one_click_unsubscribe(self):
        Preference = self.env["customer.message.preference"]
        # the preferences there are before (the demo's, on a database with
        # demo data): the link scanner's visit below adds none
        preferences = Preference.search([])
        self._send(self.alice, self.marketing, "Offer")
        (email,) = self.received("alice@example.com")
        url = re.search(r"<(http[^>]+)>", email["List-Unsubscribe"]).group(1)
        path = url[url.index("/customer_messages/") :]

        # a wrong token: refused, nothing changes
        wrong = path[: path.rindex("/") + 1] + "0" * 64
        with mute_logger("odoo.http"):
            response = self.url_open(wrong, data={"List-Unsubscribe": "One-Click"})
        self.assertEqual(response.status_code, 404)
        # another customer's link cannot be made from Alice's token
        other = path.replace(
            f"/unsubscribe/{self.alice.id}/", f"/unsubscribe/{self.bob.id}/"
        )
        with mute_logger("odoo.http"):
            response = self.url_open(other, data={"List-Unsubscribe": "One-Click"})
        self.assertEqual(response.status_code, 404)
        # a link scanner's GET only shows the confirmation
        response = self.url_open(path)
        self.assertEqual(response.status_code, 200)
        self.assertIn("Unsubscribe", response.text)
        self.env.invalidate_all()
        self.assertEqual(Preference.search([]), preferences)

        # the mail client's one-click POST (no session, no CSRF token)
        response = self.url_open(path, data={"List-Unsubscribe": "One-Click"})
        self.assertEqual(response.status_code, 200)
        self.assertIn("You are unsubscribed", response.text)
        self.env.invalidate_all()
        preference = self.alice.customer_message_preference_ids
        self.assertEqual(
            (preference.category_id, preference.channel, preference.opted_out),
            (self.marketing, "email", True),
        )
        self.smtp_handler.messages.clear()
        message = self._send(self.alice, self.marketing, "Offer again")
        self.assertEqual(self._line(message, self.alice).state, "cancelled")
        self.assertFalse(self.received("alice@example.com"))

    def test_billing_routed_to_invoice_contact(self):
        message = self._send(self.quay | self.alice, self.billing, "Your invoice")
        line = self._line(message, self.quay)
        self.assertEqual(len(message.recipient_ids), 2)
        self.assertEqual(line.state, "sent")
        self.assertEqual(line.address_partner_id, self.quay_accounts)
        self.assertEqual(line.email, "accounts@quay.example.com")
        self.assertEqual(len(self.received("accounts@quay.example.com")), 1)
        self.assertFalse(self.received("quay@example.com"))
        self.assertEqual(len(self.smtp_handler.messages), 2)
        # Alice has no invoice contact: she gets it herself
        self.assertFalse(self._line(message, self.alice).address_partner_id)
        self.assertEqual(len(self.received("alice@example.com")), 1)

        # a customer without an address of its own still gets billing at the
        # invoice contact; Marketing goes to the customer
        self.smtp_handler.messages.clear()
        self.quay.email = False
        message = self._send(self.quay, self.billing, "Your invoice")
        self.assertEqual(message.recipient_ids.state, "sent")
        self.assertEqual(len(self.received("accounts@quay.example.com")), 1)
        message = self._send(self.quay, self.marketing, "Offer")
        self.assertEqual(
            message.recipient_ids.failure_reason, "Excluded: no email address"
        )

    def test_sender_sees_exclusion_in_composer(self):
        """A Messages / User with no other right picks the Marketing template:
        the category comes with it, the opted-out customer is counted out with
        the reason, and the message is sent to the others."""
        self.marketing._set_opt_out(self.pam, ["email"])
        composer = self._compose(
            mode="mass",
            partner_ids=self.pam | self.alice,
            template_id=self.template_marketing,
        )
        self.assertEqual(composer.category_id, self.marketing)
        self.assertEqual(composer.recipient_count, 1)
        self.assertEqual(composer.excluded_count, 1)
        self.assertIn("opted out of Marketing messages", composer.exclusion_summary)
        composer.category_id = self.billing
        self.assertEqual(composer.recipient_count, 2)
        composer.category_id = self.marketing
        action = composer.action_send()
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            .browse(action["res_id"])
        )
        self.assertEqual(message.category_id, self.marketing)
        self.assertEqual(
            self._line(message, self.pam).failure_reason,
            "Excluded: opted out of Marketing messages",
        )
        self.env.ref(
            "customer_messages.ir_cron_customer_message_process"
        ).sudo().method_direct_trigger()
        self.assertEqual(len(self.received("alice@example.com")), 1)
        self.assertFalse(self.received("pam@example.com"))

    def test_staff_set_preferences_on_customer_form(self):
        """A Messages / User turns SMS marketing off on the customer's form;
        a locked category cannot be picked there."""
        with Form(self.pam.with_user(self.user_sender)) as form:
            with form.customer_message_preference_ids.new() as preference:
                preference.category_id = self.marketing
                preference.channel = "sms"
        self.assertEqual(
            self.pam.customer_message_preference_ids.mapped(
                lambda p: (p.category_id, p.channel, p.opted_out)
            ),
            [(self.marketing, "sms", True)],
        )
        with (
            self.assertRaises(ValidationError),
            Form(self.pam.with_user(self.user_sender)) as form,
        ):
            with form.customer_message_preference_ids.new() as preference:
                preference.category_id = self.legal
                preference.channel = "email"

    def test_portal_user_reads_own_preferences_only(self):
        self.marketing._set_opt_out(self.pam | self.quinn, ["email", "sms"])
        Preference = self.env["customer.message.preference"].with_user(
            self.env["res.users"].search([("login", "=", "cm_portal_quinn")])
        )
        own = Preference.search([])
        self.assertEqual(own.partner_id, self.quinn)
        pam_preference = self.pam.customer_message_preference_ids[:1]
        with self.assertRaises(AccessError):
            Preference.browse(pam_preference.id).read(["opted_out"])
        with self.assertRaises(AccessError):
            Preference.browse(pam_preference.id).write({"opted_out": False})
        with self.assertRaises(AccessError):
            Preference.create(
                {
                    "partner_id": self.pam.id,
                    "category_id": self.marketing.id,
                    "channel": "portal",
                }
            )
        # over HTTP, Quinn's page shows her own choices only
        self.authenticate("cm_portal_quinn", "cm_portal_quinn")
        _response, csrf, shown = self._preferences_form()
        self.url_open(
            "/my/message-preferences",
            data={"csrf_token": csrf, "shown": shown, "receives": shown},
        )
        self.env.invalidate_all()
        self.assertFalse(
            self.quinn.customer_message_preference_ids.filtered("opted_out")
        )
        self.assertEqual(
            len(self.pam.customer_message_preference_ids.filtered("opted_out")), 2
        )


@tagged("customer_messages", "post_install", "-at_install")
class TestSmsOptOut(HttpCase, SMSGatewayCase):
    """STOP / START from the SMS provider's webhook, and the provider's
    opted-out answer, update Odoo's phone blacklist."""

    TOKEN = "provider-secret"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        belgium = cls.env.ref("base.be")
        cls.alice = cls._create_customer(
            "Alice Person", phone="+32 470 12 34 56", country_id=belgium.id
        )
        cls.bob = cls._create_customer(
            "Bob Person", phone="+32 470 65 43 21", country_id=belgium.id
        )
        cls.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.sms_inbound_token", cls.TOKEN
        )

    def _send_sms(self, partners):
        return (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                partners, {"subject": "Outage", "sms_body": "Back", "channel": "sms"}
            )
        )

    def _inbound(self, payload, json_body=True, headers=None):
        if json_body:
            return self.url_open(
                "/customer_messages/sms/inbound",
                data=json.dumps(payload),
                headers={"Content-Type": "application/json", **(headers or {})},
            )
        return self.url_open(
            "/customer_messages/sms/inbound", data=payload, headers=headers
        )

    def _blacklisted(self, number):
        self.env.invalidate_all()
        return bool(
            self.env["phone.blacklist"].sudo().search([("number", "=", number)])
        )

    def test_stop_and_start(self):
        response = self._inbound(
            {"number": "+32 470 12 34 56", "text": "Stop", "token": self.TOKEN}
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"result": "blacklisted"})
        self.assertTrue(self._blacklisted("+32470123456"))

        message = self._send_sms(self.alice | self.bob)
        line = message.recipient_ids.filtered(lambda r: r.partner_id == self.alice)
        self.assertEqual(line.state, "cancelled")
        self.assertEqual(
            line.failure_reason,
            "Excluded: phone number +32 470 12 34 56 blacklisted "
            "(the customer sent STOP)",
        )
        self.assertEqual(
            [number for _p, number, _t in FakeGateway.received], ["+32470654321"]
        )

        # START, as form fields with the header token
        response = self._inbound(
            {"from": "+32470123456", "body": "START"},
            json_body=False,
            headers={"X-Customer-Messages-Token": self.TOKEN},
        )
        self.assertEqual(response.json(), {"result": "removed"})
        self.assertFalse(self._blacklisted("+32470123456"))
        FakeGateway.received.clear()
        message = self._send_sms(self.alice)
        self.assertEqual(message.recipient_ids.state, "sent")
        self.assertEqual(
            [number for _p, number, _t in FakeGateway.received], ["+32470123456"]
        )

    def test_webhook_refuses_wrong_token(self):
        with mute_logger("odoo.http"):
            response = self._inbound(
                {"number": "+32470123456", "text": "STOP", "token": "guess"}
            )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self._blacklisted("+32470123456"))
        response = self._inbound(
            {"number": "+32470123456", "text": "Hello", "token": self.TOKEN}
        )
        self.assertEqual(response.json(), {"result": "ignored"})
        self.assertFalse(self._blacklisted("+32470123456"))
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.sms_inbound_token", False
        )
        with mute_logger("odoo.http"):
            response = self._inbound(
                {"number": "+32470123456", "text": "STOP", "token": self.TOKEN}
            )
        self.assertEqual(response.status_code, 404)

    def test_provider_opted_out_answer_blacklists(self):
        FakeGateway.answers = {"+32470654321": "optout"}
        message = self._send_sms(self.alice | self.bob)
        line = message.recipient_ids.filtered(lambda r: r.partner_id == self.bob)
        self.assertEqual(line.state, "error")
        self.assertIn("opted out at the SMS provider", line.failure_reason)
        self.assertTrue(self._blacklisted("+32470654321"))
        FakeGateway.received.clear()
        message = self._send_sms(self.bob)
        self.assertEqual(message.recipient_ids.state, "cancelled")
        self.assertFalse(FakeGateway.received)
