import json
import re

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from .common import SMSGatewayCase
from .test_replies import RepliesCase


@tagged("customer_messages", "post_install", "-at_install")
class TestPortalReplies(HttpCase, RepliesCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.acme = cls._create_customer(
            "Acme Homes", email="acme@example.com", is_company=True
        )
        cls.ann = cls.env["res.partner"].create(
            {"name": "Ann Acme", "parent_id": cls.acme.id, "email": "ann@example.com"}
        )
        cls.carl = cls._create_customer("Carl Client", email="carl@example.com")
        for partner, login in ((cls.ann, "reply_ann"), (cls.carl, "reply_carl")):
            new_test_user(
                cls.env,
                login=login,
                groups="base.group_portal",
                partner_id=partner.id,
                name=partner.name,
                email=partner.email,
                context={"no_reset_password": True},
            )

    def _post_reply(self, line, text, csrf=True):
        page = self.url_open(line.access_url)
        data = {"body": text}
        if csrf:
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            data["csrf_token"] = token.group(1)
        return self.url_open(f"{line.access_url}/reply", data=data)

    def test_portal_reply(self):
        message = self._send(self.acme | self.carl, channel="portal_email")
        line_acme = self._line(message, self.acme)
        line_carl = self._line(message, self.carl)
        self.authenticate("reply_ann", "reply_ann")
        page = self.url_open(line_acme.access_url)
        self.assertIn(f'action="{line_acme.access_url}/reply"', page.text)
        response = self._post_reply(line_acme, "Router blinks red\n<b>help</b>")
        self.assertEqual(response.status_code, 200)
        self.assertIn("Your reply was sent.", response.text)
        self.assertIn("&lt;b&gt;help&lt;/b&gt;", response.text)

        reply = self.Reply.search([("recipient_id", "=", line_acme.id)])
        self.assertEqual(reply.channel, "portal")
        self.assertEqual(reply.state, "attached")
        self.assertEqual(reply.partner_id, self.acme)
        self.assertEqual(reply.author_id, self.ann)
        self.assertTrue(line_acme.is_replied)
        self.assertEqual(reply.activity_ids.user_id, self.user_sender)
        self.assertTrue(
            self.acme.message_ids.filtered(lambda m: "Router blinks red" in str(m.body))
        )

        # Carl, another portal customer, attacks Acme's line: not found, and
        # never sees Acme's reply on his own page
        self.authenticate("reply_carl", "reply_carl")
        with mute_logger("odoo.http"):
            response = self.url_open(
                f"{line_acme.access_url}/reply",
                data={"body": "Injected", "csrf_token": self._carl_csrf(line_carl)},
            )
        self.assertEqual(response.status_code, 404)
        self.assertFalse(self.Reply.search([("body", "ilike", "Injected")]))
        page = self.url_open(line_carl.access_url)
        self.assertNotIn("Router blinks red", page.text)
        # without the form's CSRF token: refused
        with mute_logger("odoo.http"):
            response = self._post_reply(line_carl, "No token", csrf=False)
        self.assertEqual(response.status_code, 400)
        self.assertFalse(line_carl.reply_ids)
        # the twin: Carl answers his own message
        self._post_reply(line_carl, "Fine here")
        self.assertEqual(line_carl.reply_ids.partner_id, self.carl)
        self.assertEqual(
            self.Reply.search_count([("partner_id", "=", self.acme.id)]), 1
        )
        # no customer reads replies over RPC, not even their own
        carl_user = self.env["res.users"].search([("login", "=", "reply_carl")])
        with self.assertRaises(AccessError):
            self.Reply.with_user(carl_user).search([])

    def test_reply_box_for_the_customer_only(self):
        message = self._send(self.carl, channel="portal_email")
        line = self._line(message, self.carl)
        box = f'action="{line.access_url}/reply"'
        # the holder of the email's link, not logged in: answers by email
        token = line.sudo()._portal_ensure_token()
        page = self.url_open(f"{line.access_url}?access_token={token}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("Outage in North Town", page.text)
        self.assertNotIn(box, page.text)
        # staff reading the customer's page: no box, and no reply for them
        self.authenticate("cm_user", "cm_userx")
        page = self.url_open(line.access_url)
        self.assertEqual(page.status_code, 200)
        self.assertNotIn(box, page.text)
        # the session's CSRF token, from a form of the portal
        form = self.url_open("/my/message-preferences")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        with mute_logger("odoo.http"):
            response = self.url_open(
                f"{line.access_url}/reply", data={"body": "Staff", "csrf_token": csrf}
            )
        self.assertEqual(response.status_code, 404)
        self.assertFalse(line.reply_ids)
        # the twin: Carl logged in has the box
        self.authenticate("reply_carl", "reply_carl")
        self.assertIn(box, self.url_open(line.access_url).text)

    def _carl_csrf(self, line):
        page = self.url_open(line.access_url)
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


@tagged("customer_messages", "post_install", "-at_install")
class TestSmsReplies(HttpCase, SMSGatewayCase):
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

    def _inbound(self, number, text):
        response = self.url_open(
            "/customer_messages/sms/inbound",
            data=json.dumps({"number": number, "text": text, "token": self.TOKEN}),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 200)
        return response.json()["result"]

    def test_sms_reply(self):
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.alice | self.bob,
                {"subject": "Outage", "sms_body": "Works tonight", "channel": "sms"},
            )
        )
        line_alice = self._line(message, self.alice)
        self.assertEqual(line_alice.state, "sent")
        result = self._inbound("+32470123456", "Still no internet at 12 Oak St")
        self.assertEqual(result, "replied")
        self.env.invalidate_all()
        reply = line_alice.reply_ids
        self.assertEqual(reply.channel, "sms")
        self.assertEqual(reply.partner_id, self.alice)
        self.assertIn("12 Oak St", reply.body)
        self.assertTrue(line_alice.is_replied)
        self.assertFalse(self._line(message, self.bob).is_replied)
        self.assertEqual(message.with_user(self.user_sender).reply_count, 1)
        self.assertTrue(
            self.alice.message_ids.filtered(lambda m: "12 Oak St" in str(m.body))
        )
        self.assertEqual(reply.activity_ids.user_id, self.user_sender)
        self.assertFalse(
            self.env["phone.blacklist"].sudo().search([("number", "=", "+32470123456")])
        )
        # an unknown number: kept, attached to nobody
        self.assertEqual(self._inbound("+32470999999", "Who is this?"), "kept")
        self.env.invalidate_all()
        kept = self.env["customer.message.reply"].search(
            [("sender", "=", "+32470999999")]
        )
        self.assertEqual(kept.state, "unmatched")
        self.assertFalse(kept.partner_id)
        self.assertEqual(message.reply_count, 1)
