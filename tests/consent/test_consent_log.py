import json
import re

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, HttpCase, JsonRpcException, new_test_user, tagged
from odoo.tools import mute_logger

from ..common import FakeGateway, SendingCase, SMSGatewayCase


class ConsentLogMixin:
    def _rpc(self, model, method, *args, **kwargs):
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def _log(self, partner):
        """The consent log of a customer, oldest first, as tuples."""
        self.env.invalidate_all()
        logs = self.env["customer.message.consent.log"].search(
            [("partner_id", "=", partner.id)], order="id"
        )
        return [
            (log.source, log.user_id, log.category_id, log.channel, log.opted_out)
            for log in logs
        ]


@tagged("customer_messages", "post_install", "-at_install")
class TestConsentLog(ConsentLogMixin, HttpCase, SendingCase):
    """Customers' choices belong to them: a portal customer cannot move his
    choice onto another customer, another company's users neither see nor
    change them, nobody deletes them, and every change is in the consent log
    (who, when, how, what), shown on the customer's form."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.marketing = cls.env.ref(
            "customer_messages.customer_message_category_marketing"
        )
        cls.pam, cls.rita = (
            cls._create_customer(
                name, email=f"{login}@example.com", company_id=cls.company.id
            )
            for name, login in (("Pam Portal", "pam"), ("Rita Rival", "rita"))
        )
        cls.portal_pam = new_test_user(
            cls.env,
            login="cm_log_pam",
            groups="base.group_portal",
            partner_id=cls.pam.id,
            name=cls.pam.name,
            email=cls.pam.email,
            context={"no_reset_password": True},
        )
        cls.company_b = cls.env["res.company"].create({"name": "Second ISP"})
        cls.user_sender_b = new_test_user(
            cls.env,
            login="cm_sender_b",
            groups="base.group_user,customer_messages.customer_messages_group_user",
            name="Sender of the second company",
            company_id=cls.company_b.id,
            company_ids=[cls.company_b.id],
        )
        cls.public_user = cls.env.ref("base.public_user")

    # item 7 --------------------------------------------------------------
    @mute_logger("odoo.http")
    def test_portal_cannot_move_preference_to_another_customer(self):
        self.authenticate("cm_log_pam", "cm_log_pam")
        Preference = "customer.message.preference"
        preference_id = self._rpc(
            Preference,
            "create",
            {
                "partner_id": self.pam.id,
                "category_id": self.marketing.id,
                "channel": "email",
            },
        )
        for values in (
            {"partner_id": self.rita.id},
            {"partner_id": self.rita.id, "opted_out": True},
            {
                "category_id": self.env.ref(
                    "customer_messages.customer_message_category_service"
                ).id
            },
            {"channel": "sms"},
        ):
            with self.subTest(values=values):
                with self.assertRaisesRegex(JsonRpcException, "UserError"):
                    self._rpc(Preference, "write", [preference_id], values)
        self.env.invalidate_all()
        self.assertFalse(self.rita.customer_message_preference_ids)
        preference = self.env[Preference].browse(preference_id)
        self.assertEqual(
            (preference.partner_id, preference.category_id, preference.channel),
            (self.pam, self.marketing, "email"),
        )
        # nor can staff (the ORM refuses it, whoever writes)
        with self.assertRaises(UserError):
            preference.with_user(self.user_sender).partner_id = self.rita
        # what he may do: turn his own choice on and off; logged as his
        self._rpc(Preference, "write", [preference_id], {"opted_out": False})
        self.assertFalse(preference.opted_out)
        self.assertEqual(
            self._log(self.pam),
            [
                ("portal", self.portal_pam, self.marketing, "email", True),
                ("portal", self.portal_pam, self.marketing, "email", False),
            ],
        )
        self.assertFalse(self._log(self.rita))

    # item 8 --------------------------------------------------------------
    @mute_logger("odoo.http")
    def test_other_company_neither_sees_nor_changes_opt_out(self):
        self.marketing._set_opt_out(self.pam, ["email"])
        preference = self.pam.customer_message_preference_ids
        self.assertEqual(preference.company_id, self.company)
        self.authenticate("cm_sender_b", "cm_sender_b")
        pam = [("partner_id", "=", self.pam.id)]
        for model in ("customer.message.preference", "customer.message.consent.log"):
            self.assertFalse(self._rpc(model, "search_read", pam, fields=["id"]), model)
        for method, args in (
            ("read", ([preference.id], ["opted_out"])),
            ("write", ([preference.id], {"opted_out": False})),
            ("unlink", ([preference.id],)),
        ):
            with self.subTest(method=method):
                with self.assertRaisesRegex(JsonRpcException, "AccessError"):
                    self._rpc("customer.message.preference", method, *args)
        self.env.invalidate_all()
        self.assertTrue(preference.exists().opted_out)
        # the first company's users see the choice and its log
        self.authenticate("cm_sender", "cm_sender")
        self.assertEqual(
            self._rpc(
                "customer.message.preference", "search_read", pam, fields=["partner_id"]
            ),
            [{"id": preference.id, "partner_id": [self.pam.id, "Pam Portal"]}],
        )
        self.assertEqual(
            len(
                self._rpc(
                    "customer.message.consent.log",
                    "search_read",
                    pam,
                    fields=["id"],
                )
            ),
            1,
        )

    @mute_logger("odoo.http")
    def test_users_cannot_delete_opt_out(self):
        self.marketing._set_opt_out(self.pam, ["email", "sms"])
        email, sms = self.pam.customer_message_preference_ids.sorted("channel")
        self.authenticate("cm_sender", "cm_sender")
        with self.assertRaisesRegex(JsonRpcException, "AccessError"):
            self._rpc("customer.message.preference", "unlink", [email.id])
        self.assertTrue(email.exists())
        # not even the superuser: turned back on instead, and recorded
        with self.assertRaises(UserError):
            email.unlink()
        self._rpc(
            "customer.message.preference", "write", [email.id], {"opted_out": False}
        )
        self.assertEqual(
            self._log(self.pam)[-1],
            ("staff", self.user_sender, self.marketing, "email", False),
        )
        # a choice that is on (no opt-out) may go, by the system
        email.invalidate_recordset()
        email.unlink()
        self.assertTrue(sms.exists())

    def test_consent_log_is_read_only(self):
        self.marketing._set_opt_out(self.pam, ["email"])
        log = self.env["customer.message.consent.log"].search(
            [("partner_id", "=", self.pam.id)]
        )
        self.assertEqual(len(log), 1)
        Log = self.env["customer.message.consent.log"]
        for user in (self.user_sender, self.user_manager):
            with self.subTest(user=user.login):
                self.assertEqual(Log.with_user(user).search([]) & log, log)
                with self.assertRaises(AccessError):
                    log.with_user(user).write({"opted_out": False})
                with self.assertRaises(AccessError):
                    log.with_user(user).unlink()
                with self.assertRaises(AccessError):
                    Log.with_user(user).create(
                        {
                            "partner_id": self.rita.id,
                            "source": "staff",
                            "channel": "sms",
                        }
                    )
        with self.assertRaises(AccessError):
            Log.with_user(self.portal_pam).search([])

    def test_every_path_is_logged(self):
        """The portal page, the unsubscribe link and staff's form all write
        the log, with who and how (the SMS paths: TestSmsConsentLog)."""
        # the portal page, as Pam
        self.authenticate("cm_log_pam", "cm_log_pam")
        page = self.url_open("/my/message-preferences").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        shown = re.findall(r'name="shown" value="([^"]+)"', page)
        key = f"{self.marketing.id}-email"
        for receives in ([k for k in shown if k != key], shown):
            self.url_open(
                "/my/message-preferences",
                data={"csrf_token": csrf, "shown": shown, "receives": receives},
            )
        # the one-click unsubscribe, anonymous
        self.authenticate(None, None)
        token = self.marketing._get_unsubscribe_token(self.pam.id)
        url = (
            f"/customer_messages/unsubscribe/{self.pam.id}/{self.marketing.id}/{token}"
        )
        response = self.url_open(url, data={"List-Unsubscribe": "One-Click"})
        self.assertEqual(response.status_code, 200)
        # staff on the customer's form
        with Form(self.pam.with_user(self.user_sender)) as form:
            with form.customer_message_preference_ids.new() as preference:
                preference.category_id = self.marketing
                preference.channel = "sms"
        self.assertEqual(
            self._log(self.pam),
            [
                ("portal", self.portal_pam, self.marketing, "email", True),
                ("portal", self.portal_pam, self.marketing, "email", False),
                ("unsubscribe", self.public_user, self.marketing, "email", True),
                ("staff", self.user_sender, self.marketing, "sms", True),
            ],
        )
        # shown on the customer's form
        arch = (
            self.env["res.partner"]
            .with_user(self.user_sender)
            .get_views([(False, "form")])["views"]["form"]["arch"]
        )
        self.assertIn('name="customer_message_consent_log_ids"', arch)
        self.assertEqual(
            len(self.pam.with_user(self.user_sender).customer_message_consent_log_ids),
            4,
        )
        log = self.pam.customer_message_consent_log_ids[0]
        self.assertEqual(log.company_id, self.company)
        self.assertTrue(log.date)

    # item 14 -------------------------------------------------------------
    def test_unsubscribe_link_with_non_ascii_token(self):
        """Any token that is not the link's signature is a 404, for an
        anonymous visitor; the right one still works."""
        self.authenticate(None, None)
        base = f"/customer_messages/unsubscribe/{self.pam.id}/{self.marketing.id}"
        with mute_logger("odoo.http"):
            for token in ("é" * 64, "ünïcödé", "%E2%82%AC"):
                for data in (None, {"List-Unsubscribe": "One-Click"}):
                    with self.subTest(token=token, post=bool(data)):
                        response = self.url_open(f"{base}/{token}", data=data)
                        self.assertEqual(response.status_code, 404)
            token = self.marketing._get_unsubscribe_token(self.pam.id)
            response = self.url_open(
                f"/customer_messages/unsubscribe/99999999999999/{self.marketing.id}/{token}"
            )
            self.assertEqual(response.status_code, 404)
        self.assertFalse(self.pam.customer_message_preference_ids)
        response = self.url_open(f"{base}/{token}")
        self.assertEqual(response.status_code, 200)
        self.assertIn("Unsubscribe", response.text)


@tagged("customer_messages", "post_install", "-at_install")
class TestSmsConsentLog(ConsentLogMixin, HttpCase, SMSGatewayCase):
    """STOP / START over the provider's webhook and the provider's opted-out
    answer are consent changes too: in the log of the number's customers."""

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
        cls.public_user = cls.env.ref("base.public_user")
        cls.no_category = cls.env["customer.message.category"]

    def _inbound(self, payload):
        return self.url_open(
            "/customer_messages/sms/inbound",
            data=json.dumps(payload),
            headers={"Content-Type": "application/json"},
        )

    def test_stop_start_logged(self):
        for text, result in (("STOP", "blacklisted"), ("Stop", "blacklisted")):
            response = self._inbound(
                {"number": "+32470123456", "text": text, "token": self.TOKEN}
            )
            self.assertEqual(response.json(), {"result": result})
        response = self._inbound(
            {"number": "+32470123456", "text": "START", "token": self.TOKEN}
        )
        self.assertEqual(response.json(), {"result": "removed"})
        # the second STOP changed nothing: not logged
        self.assertEqual(
            self._log(self.alice),
            [
                ("sms_keyword", self.public_user, self.no_category, "sms", True),
                ("sms_keyword", self.public_user, self.no_category, "sms", False),
            ],
        )
        log = self.env["customer.message.consent.log"].search(
            [("partner_id", "=", self.alice.id)], limit=1
        )
        self.assertEqual(log.number, "+32470123456")
        self.assertFalse(self._log(self.bob))

    def test_provider_opt_out_logged(self):
        FakeGateway.answers = {"+32470654321": "optout"}
        self.env["customer.message"].with_user(self.user_sender)._send_to_customers(
            self.bob, {"subject": "Outage", "sms_body": "Back", "channel": "sms"}
        )
        self.assertEqual([entry[0] for entry in self._log(self.bob)], ["sms_provider"])
        self.assertEqual(self._log(self.bob)[0][2:], (self.no_category, "sms", True))

    def test_webhook_non_ascii_token(self):
        with mute_logger("odoo.http"):
            response = self._inbound(
                {"number": "+32470123456", "text": "STOP", "token": "sécret"}
            )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(self._log(self.alice))
        response = self._inbound(
            {"number": "+32470123456", "text": "STOP", "token": self.TOKEN}
        )
        self.assertEqual(response.json(), {"result": "blacklisted"})
