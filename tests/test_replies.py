from email.utils import getaddresses

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common import SendingCase

REPLY_ALIAS = "customer-replies@isp.example.com"


def raw_email(sender, to, subject, text, message_id, in_reply_to=None, headers=()):
    """An RFC 822 email as a customer's mail client writes it."""
    lines = [
        f"From: {sender}",
        f"To: {to}",
        f"Subject: {subject}",
        f"Message-ID: {message_id}",
        "Date: Tue, 08 Dec 2026 09:00:00 +0000",
        "MIME-Version: 1.0",
        *headers,
    ]
    if in_reply_to:
        lines += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    lines += ['Content-Type: text/plain; charset="utf-8"', "", text, ""]
    return "\r\n".join(lines)


class RepliesCase(SendingCase):
    """A company whose alias domain is isp.example.com: its customer
    messages' Reply-To is the module's replies alias there."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.alias_domain_id = cls.env["mail.alias.domain"].create(
            {"name": "isp.example.com"}
        )
        cls.Reply = cls.env["customer.message.reply"]

    def _send(self, partners, **values):
        return (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                partners,
                {
                    "subject": "Outage in North Town",
                    "body_html": "<p>Works tonight.</p>",
                    "channel": "email",
                    **values,
                },
            )
        )

    def _process(self, raw):
        """The email fed to Odoo's mail gateway, as fetchmail does."""
        return self.env["mail.thread"].message_process(False, raw)


@tagged("customer_messages", "post_install", "-at_install")
class TestEmailReplies(RepliesCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.mallory = cls.env["res.partner"].create(
            {"name": "Mallory", "email": "mallory@example.com"}
        )

    def setUp(self):
        super().setUp()
        self.message = self._send(self.alice | self.bob)
        self.line_alice = self._line(self.message, self.alice)
        self.line_bob = self._line(self.message, self.bob)
        self.sent = {
            address: self.received(address)[0]
            for address in ("alice@example.com", "bob@example.com")
        }

    def _reply(self, sender, text, to_line_of="alice@example.com", headers=()):
        sent = self.sent.get(to_line_of) or to_line_of
        _name, reply_to = getaddresses([sent["Reply-To"]])[0]
        return self._process(
            raw_email(
                sender,
                reply_to,
                f"Re: {sent['Subject']}",
                text,
                f"<{abs(hash((sender, text)))}@mail.example.com>",
                in_reply_to=sent["Message-Id"],
                headers=headers,
            )
        )

    def test_reply_lands_on_customer_and_line(self):
        sent = self.sent["alice@example.com"]
        self.assertEqual(getaddresses([sent["Reply-To"]])[0][1], REPLY_ALIAS)
        self.assertEqual(sent["Message-Id"], self.line_alice.email_reference)
        self.assertFalse(
            self.env["mail.mail"].search(
                [("customer_message_recipient_id", "=", self.line_alice.id)]
            ),
            "the sent email is deleted: the line keeps its Message-Id",
        )
        self._reply("Alice Person <alice@example.com>", "Still no internet at 12 Oak")

        reply = self.Reply.search([("sender", "ilike", "alice@example.com")])
        self.assertEqual(len(reply), 1)
        self.assertEqual(reply.state, "attached")
        self.assertEqual(reply.recipient_id, self.line_alice)
        self.assertEqual(reply.partner_id, self.alice)
        # staff (a plain Messages / User) read it on the message and line
        message = self.message.with_user(self.user_sender)
        self.assertEqual(message.reply_count, 1)
        line = self.line_alice.with_user(self.user_sender)
        self.assertTrue(line.is_replied)
        self.assertIn("Still no internet at 12 Oak", line.reply_ids.body)
        self.assertFalse(self.line_bob.is_replied)
        # on the customer's chatter, as a note (never shown to customers)
        notes = self.alice.message_ids.filtered(lambda m: "12 Oak" in str(m.body))
        self.assertEqual(len(notes), 1)
        self.assertTrue(notes.subtype_id.internal)
        self.assertFalse(
            self.bob.message_ids.filtered(lambda m: "12 Oak" in str(m.body))
        )
        # the author of the message gets an activity
        self.assertEqual(reply.activity_ids.user_id, self.user_sender)
        self.assertEqual(reply.user_id, self.user_sender)
        reply.activity_ids.with_user(self.user_sender).action_done()
        self.assertFalse(reply.activity_ids)

        # the category's user instead of the author
        outages = self.env["customer.message.category"].create(
            {"name": "Outages", "reply_user_id": self.user_manager.id}
        )
        second = self._send(self.bob, category_id=outages.id)
        self._reply("bob@example.com", "Mine too", to_line_of=self.received()[-1])
        reply = self.Reply.search([("recipient_id.message_id", "=", second.id)])
        self.assertEqual(reply.state, "attached")
        self.assertEqual(reply.partner_id, self.bob)
        self.assertEqual(reply.activity_ids.user_id, self.user_manager)
        self.assertEqual(second.with_user(self.user_sender).reply_count, 1)
        self.assertEqual(message.reply_count, 1)

    def test_replies_access(self):
        self._reply("alice@example.com", "Hello from Alice")
        reply = self.Reply.search([("recipient_id", "=", self.line_alice.id)])
        self.assertEqual(
            self.Reply.with_user(self.user_sender).search([("id", "=", reply.id)]),
            reply,
        )
        other = self.env["res.company"].create({"name": "Other ISP"})
        user_other = new_test_user(
            self.env,
            login="cm_reply_other_company",
            groups="base.group_user,customer_messages.customer_messages_group_user",
            company_id=other.id,
            company_ids=[Command.set(other.ids)],
        )
        self.assertFalse(
            self.Reply.with_user(user_other).search([("id", "=", reply.id)])
        )
        # replies are written by the system only
        with self.assertRaises(AccessError):
            self.Reply.with_user(self.user_manager).create(
                {"channel": "email", "state": "attached", "sender": "x@example.com"}
            )
        with self.assertRaises(AccessError):
            reply.with_user(self.user_manager).write({"state": "unmatched"})

    def test_forged_reference_not_attached(self):
        # Mallory (and Bob, a customer) answer with Alice's Message-Id
        for sender in ("mallory@example.com", "bob@example.com"):
            self._reply(sender, f"Forged by {sender}")
        replies = self.Reply.search([("body", "ilike", "Forged by")])
        self.assertEqual(len(replies), 2, "kept")
        self.assertEqual(set(replies.mapped("state")), {"unmatched"})
        self.assertFalse(replies.recipient_id)
        self.assertFalse(replies.partner_id)
        self.assertEqual(replies.claimed_recipient_id, self.line_alice)
        self.assertFalse(replies.activity_ids)
        self.assertFalse(self.line_alice.is_replied)
        self.assertFalse(self.line_bob.is_replied)
        self.assertEqual(self.message.reply_count, 0)
        for partner in (self.alice, self.bob, self.mallory):
            self.assertFalse(
                partner.message_ids.filtered(lambda m: "Forged" in str(m.body))
            )
        # the positive twin: the address the line's email went to
        self._reply("ALICE@example.com", "Really me")
        self.assertTrue(self.line_alice.is_replied)

    def test_automatic_emails_never_land(self):
        automatic = {
            "auto-reply": ["Auto-Submitted: auto-replied"],
            "vacation": ["Auto-Submitted: auto-generated", "X-Autoreply: yes"],
            "bulk": ["Precedence: bulk"],
            "auto_reply": ["Precedence: auto_reply"],
        }
        for name, headers in automatic.items():
            with self.subTest(name):
                self._reply("alice@example.com", f"I am away ({name})", headers=headers)
        # a delivery report sent to the alias (by a server that reads Reply-To)
        dsn = "\r\n".join(
            [
                "From: MAILER-DAEMON@mx.example.com",
                f"To: {REPLY_ALIAS}",
                "Subject: Undelivered Mail Returned to Sender",
                "Message-ID: <dsn-1@mx.example.com>",
                "MIME-Version: 1.0",
                "Content-Type: multipart/report; report-type=delivery-status;",
                ' boundary="B"',
                "",
                "--B",
                "Content-Type: text/plain",
                "",
                "I am away (dsn)",
                "--B",
                "Content-Type: message/delivery-status",
                "",
                "Reporting-MTA: dns; mx.example.com",
                "",
                "Final-Recipient: rfc822; alice@example.com",
                "Action: failed",
                "Status: 5.1.1",
                "",
                "--B--",
                "",
            ]
        )
        with mute_logger("odoo.addons.mail.models.mail_thread"):
            self._process(dsn)
        self.assertFalse(self.Reply.search([("body", "ilike", "I am away")]))
        self.assertFalse(self.line_alice.is_replied)
        self.assertFalse(
            self.alice.message_ids.filtered(lambda m: "I am away" in str(m.body))
        )
        self.assertFalse(
            self.env["mail.mail"].search([("email_to", "ilike", "alice@example.com")]),
            "nothing answers a robot",
        )
        # the twin: the same email without the headers is a reply
        self._reply("alice@example.com", "I am back")
        self.assertTrue(self.line_alice.is_replied)
