import html
import re
from datetime import timedelta
from unittest.mock import patch
from urllib.parse import urlsplit

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.base.models.ir_mail_server import IrMail_Server

from .common import BrowserTour, SendingCase


@tagged("customer_messages", "post_install", "-at_install")
class TestPortal(BrowserTour, HttpCase, SendingCase):
    """Customers read their messages in the portal, over HTTP: a contact of a
    company (Ann, of Acme Homes) and a person (Carl) with portal logins, and
    Bob, who has no login and opens the link of his email."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.acme = cls._create_customer(
            "Acme Homes",
            tariffs=cls.tariff_fiber,
            customer_login="acme",
            email="acme@example.com",
            is_company=True,
        )
        cls.ann = cls.env["res.partner"].create(
            {"name": "Ann Acme", "parent_id": cls.acme.id, "email": "ann@example.com"}
        )
        cls.carl = cls._create_customer(
            "Carl Client",
            tariffs=cls.tariff_dsl,
            customer_login="carl",
            email="carl@example.com",
        )
        for partner, login in ((cls.ann, "portal_ann"), (cls.carl, "portal_carl")):
            new_test_user(
                cls.env,
                login=login,
                groups="base.group_portal",
                partner_id=partner.id,
                name=partner.name,
                email=partner.email,
                context={"no_reset_password": True},
            )
        cls.invoice_acme = cls._create_invoice(cls.acme, 120.0)
        cls.invoice_carl = cls._create_invoice(cls.carl, 80.0)
        cls.invoice_bob = cls._create_invoice(cls.bob, 60.0)
        cls.terms = (
            cls.env["ir.attachment"]
            .with_user(cls.user_sender)
            .create(
                {
                    "name": "Terms.txt",
                    "raw": b"General terms of service",
                    "mimetype": "text/plain",
                }
            )
        )

        Message = cls.env["customer.message"].with_user(cls.user_sender)
        now = fields.Datetime.now()
        # Odoo sends no email in tests unless told to: the emails of these
        # messages really go to the test SMTP server (and are not checked).
        with patch.object(IrMail_Server, "_disable_send", return_value=False):
            cls.msg_maintenance = Message._send_to_customers(
                cls.ann | cls.carl,
                {
                    "subject": "Maintenance tonight",
                    "body_html": "<p>Works from 1 to 5.</p>",
                    "channel": "portal",
                },
            )
            # hidden from the portal: a test, a removed, a cancelled and an
            # email-only message
            cls.msg_test = Message._send_to_customers(
                cls.carl,
                {
                    "subject": "Secret test",
                    "channel": "portal_email",
                    "origin": "test",
                    "test_email": "staff@example.com",
                },
            )
            cls.msg_removed = Message._send_to_customers(
                cls.carl, {"subject": "Removed news", "channel": "portal"}
            )
            cls.msg_removed.action_remove()
            cls.msg_cancelled = Message._send_to_customers(
                cls.carl,
                {
                    "subject": "Cancelled offer",
                    "channel": "portal_email",
                    "scheduled_date": now + timedelta(days=1),
                },
            )
            cls.msg_cancelled.action_cancel()
            cls.msg_invoice = Message._send_to_customers(
                cls.acme | cls.carl,
                {
                    "subject": "Your invoice, {{ object.name }}",
                    "body_html": "<p>Dear <t t-out='object.name'/>, "
                    "your invoice is attached.</p>",
                    "channel": "portal_email",
                    "invoice_policy": "last",
                    "attachment_ids": [Command.set(cls.terms.ids)],
                },
            )
            cls.msg_email = Message._send_to_customers(
                cls.carl, {"subject": "Email only", "channel": "email"}
            )
        # sent as a Messages / User; the test goes on as the system
        for name in (
            "msg_maintenance",
            "msg_test",
            "msg_removed",
            "msg_cancelled",
            "msg_invoice",
            "msg_email",
        ):
            setattr(cls, name, getattr(cls, name).with_env(cls.env))
        cls.msg_maintenance.date = now - timedelta(days=2)
        cls.msg_invoice.date = now - timedelta(days=1)
        cls.line_acme_invoice = cls._line(cls.msg_invoice, cls.acme)
        cls.line_carl_invoice = cls._line(cls.msg_invoice, cls.carl)
        cls.pdf_acme = cls.invoice_acme.invoice_pdf_report_id
        cls.pdf_carl = cls.invoice_carl.invoice_pdf_report_id
        cls.line_ann_maintenance = cls._line(cls.msg_maintenance, cls.ann)
        cls.line_carl_maintenance = cls._line(cls.msg_maintenance, cls.carl)
        cls.hidden_carl_lines = (
            cls.msg_test | cls.msg_removed | cls.msg_cancelled | cls.msg_email
        ).recipient_ids

    # helpers

    def _listed_ids(self, url="/my/messages"):
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200)
        return [
            int(rid) for rid in re.findall(r'data-recipient-id="(\d+)"', response.text)
        ], response.text

    def _unread_ids(self, page):
        return [
            int(rid)
            for rid in re.findall(
                r'o_customer_message_unread[^"]*"\s+data-recipient-id="(\d+)"', page
            )
        ]

    def _attachment_links(self, page):
        return [
            html.unescape(href)
            for href in re.findall(
                r'href="(/my/messages/\d+/attachment/\d+[^"]*)"', page
            )
        ]

    def _counters(self):
        return self.make_jsonrpc_request(
            "/my/counters",
            {"counters": ["customer_message_count", "customer_message_unread_count"]},
        )

    def assertRefused(self, response, location="/my", text=()):
        """Redirected (to /my or the login page) or not found, and nothing of
        the document in the answer."""
        if response.status_code == 404:
            self.assertNotEqual(response.content[:5], b"%PDF-")
        else:
            self.assertIn(response.status_code, (301, 302, 303))
            self.assertEqual(urlsplit(response.headers["Location"]).path, location)
        for fragment in text:
            self.assertNotIn(fragment, response.text)

    # tests

    def test_sent_data(self):
        self.assertTrue(
            self.pdf_acme and self.pdf_carl, "each customer got their invoice"
        )
        self.assertEqual(self.line_acme_invoice.attachment_ids, self.pdf_acme)
        self.assertEqual(
            self.line_acme_invoice.access_url,
            f"/my/messages/{self.line_acme_invoice.id}",
        )
        self.assertTrue(
            self.line_acme_invoice.access_token, "the email carried the token link"
        )
        self.assertEqual(
            set(self.hidden_carl_lines.mapped("state")),
            {"sent", "removed", "cancelled"},
        )

    def test_list_shows_own_messages_only(self):
        self.authenticate("portal_ann", "portal_ann")
        ids, page = self._listed_ids()
        self.assertEqual(
            ids,
            [self.line_acme_invoice.id, self.line_ann_maintenance.id],
            "newest first",
        )
        self.assertIn("Your invoice, Acme Homes", page)
        for hidden in (
            "Carl Client",
            "Secret test",
            "Removed news",
            "Cancelled offer",
            "Email only",
        ):
            self.assertNotIn(hidden, page)
        self.assertEqual(self._unread_ids(page), ids, "both unread")

        ids, _page = self._listed_ids("/my/messages?sortby=subject")
        self.assertEqual(ids, [self.line_ann_maintenance.id, self.line_acme_invoice.id])
        ids, _page = self._listed_ids("/my/messages?search_in=subject&search=mainten")
        self.assertEqual(ids, [self.line_ann_maintenance.id])

        self.authenticate("portal_carl", "portal_carl")
        ids, page = self._listed_ids()
        self.assertEqual(
            ids, [self.line_carl_invoice.id, self.line_carl_maintenance.id]
        )
        self.assertIn("Your invoice, Carl Client", page)
        for hidden in (
            "Acme Homes",
            "Secret test",
            "Removed news",
            "Cancelled offer",
            "Email only",
        ):
            self.assertNotIn(hidden, page)

    def test_record_rule(self):
        Recipient = self.env["customer.message.recipient"]
        for login, expected in (
            ("portal_ann", self.line_acme_invoice | self.line_ann_maintenance),
            ("portal_carl", self.line_carl_invoice | self.line_carl_maintenance),
        ):
            user = self.env["res.users"].search([("login", "=", login)])
            self.assertEqual(Recipient.with_user(user).search([]), expected)

    def test_home_counter_and_read(self):
        self.authenticate("portal_ann", "portal_ann")
        home = self.url_open("/my")
        self.assertEqual(home.status_code, 200)
        self.assertIn('data-placeholder_count="customer_message_count"', home.text)
        self.assertIn(
            'data-placeholder_count="customer_message_unread_count"', home.text
        )
        self.assertIn('href="/my/messages"', home.text)
        self.assertEqual(
            self._counters(),
            {"customer_message_count": 2, "customer_message_unread_count": 2},
        )

        page = self.url_open(self.line_acme_invoice.access_url)
        self.assertEqual(page.status_code, 200)
        self.assertIn("Your invoice, Acme Homes", page.text)
        self.assertIn("Dear Acme Homes, your invoice is attached.", page.text)
        self.line_acme_invoice.invalidate_recordset()
        read_date = self.line_acme_invoice.read_date
        self.assertTrue(read_date, "opening it marks it read")
        self.assertFalse(self.line_carl_invoice.read_date)
        self.assertEqual(
            self._counters(),
            {"customer_message_count": 2, "customer_message_unread_count": 1},
        )
        _ids, listing = self._listed_ids()
        self.assertEqual(self._unread_ids(listing), [self.line_ann_maintenance.id])

        self.url_open(self.line_acme_invoice.access_url)
        self.line_acme_invoice.invalidate_recordset()
        self.assertEqual(
            self.line_acme_invoice.read_date, read_date, "the first reading is kept"
        )

        self.authenticate("portal_carl", "portal_carl")
        self.assertEqual(
            self._counters(),
            {"customer_message_count": 2, "customer_message_unread_count": 2},
        )

    def test_internal_user_reads_without_marking(self):
        self.authenticate("cm_user", "cm_userx")
        self.assertEqual(
            self._listed_ids()[0], [], "staff have no messages of their own"
        )
        page = self.url_open(self.line_carl_invoice.access_url)
        self.assertEqual(page.status_code, 200)
        self.line_carl_invoice.invalidate_recordset()
        self.assertFalse(
            self.line_carl_invoice.read_date, "staff reading is not the customer's"
        )

    def test_download_own_documents(self):
        self.authenticate("portal_ann", "portal_ann")
        page = self.url_open(self.line_acme_invoice.access_url).text
        links = self._attachment_links(page)
        base = self.line_acme_invoice.access_url
        self.assertEqual(
            sorted(links),
            sorted(f"{base}/attachment/{att.id}" for att in self.terms | self.pdf_acme),
        )
        pdf = self.url_open(f"{base}/attachment/{self.pdf_acme.id}")
        self.assertEqual(pdf.status_code, 200)
        self.assertEqual(pdf.content[:5], b"%PDF-")
        self.assertEqual(pdf.content, self.pdf_acme.raw)
        self.assertIn("attachment", pdf.headers["Content-Disposition"])
        terms = self.url_open(f"{base}/attachment/{self.terms.id}")
        self.assertEqual(terms.content, b"General terms of service")

    def test_other_customer_refused(self):
        self.authenticate("portal_carl", "portal_carl")
        acme_url = self.line_acme_invoice.access_url
        secret = ("Acme Homes",)
        self.assertRefused(self.url_open(acme_url, allow_redirects=False), text=secret)
        self.assertNotIn("Acme Homes", self.url_open(acme_url).text)
        self.assertRefused(
            self.url_open(
                f"{acme_url}/attachment/{self.pdf_acme.id}", allow_redirects=False
            )
        )
        self.assertRefused(
            self.url_open(
                f"{acme_url}/attachment/{self.terms.id}", allow_redirects=False
            )
        )
        # his own message, with another customer's file
        own_url = self.line_carl_invoice.access_url
        self.assertRefused(
            self.url_open(
                f"{own_url}/attachment/{self.pdf_acme.id}", allow_redirects=False
            )
        )
        # his own token on another customer's message, or a made-up one
        own_token = self.line_carl_invoice._portal_ensure_token()
        for token in (own_token, "not-a-token", ""):
            response = self.url_open(
                f"{acme_url}?access_token={token}", allow_redirects=False
            )
            self.assertRefused(response, text=secret)
            response = self.url_open(
                f"{acme_url}/attachment/{self.pdf_acme.id}?access_token={token}",
                allow_redirects=False,
            )
            self.assertRefused(response)
        # his hidden messages, and ids that do not exist
        for line in self.hidden_carl_lines:
            self.assertRefused(
                self.url_open(line.access_url, allow_redirects=False),
                text=(line.message_id.subject,),
            )
        self.assertRefused(
            self.url_open("/my/messages/999999999", allow_redirects=False)
        )
        self.line_acme_invoice.invalidate_recordset()
        self.assertFalse(self.line_acme_invoice.read_date)

    def test_public_redirected_to_login(self):
        self.authenticate(None, None)
        acme_url = self.line_acme_invoice.access_url
        for url in (
            "/my/messages",
            acme_url,
            f"{acme_url}?access_token=not-a-token",
            f"{acme_url}?access_token={self.line_carl_invoice._portal_ensure_token()}",
            f"{acme_url}/attachment/{self.pdf_acme.id}",
            f"{acme_url}/attachment/{self.pdf_acme.id}?access_token=not-a-token",
        ):
            response = self.url_open(url, allow_redirects=False)
            self.assertRefused(response, location="/web/login", text=("Acme Homes",))

    def test_email_link_without_login(self):
        self.env["customer.message"].with_user(self.user_sender)._send_to_customers(
            self.bob,
            {
                "subject": "Invoice for {{ object.name }}",
                "body_html": "<p>Your invoice is attached.</p>",
                "channel": "portal_email",
                "invoice_policy": "last",
                "attachment_ids": [Command.set(self.terms.ids)],
            },
        )
        (email,) = self.received("bob@example.com")
        body = self.html_body(email)
        self.assertIn("View in your portal", body)
        (link,) = re.findall(
            r'href="([^"]*/my/messages/\d+\?access_token=[^"]+)"', body
        )
        link = urlsplit(html.unescape(link))
        line = self.env["customer.message.recipient"].search(
            [("partner_id", "=", self.bob.id)]
        )
        self.assertEqual(link.path, line.access_url)
        self.assertEqual(link.query, f"access_token={line.access_token}")

        self.authenticate(None, None)
        page = self.url_open(f"{link.path}?{link.query}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("Invoice for Bob Company", page.text)
        line.invalidate_recordset()
        self.assertFalse(line.read_date, "read when the page posts it (browser)")
        links = self._attachment_links(page.text)
        self.assertEqual(
            len(links), 2, "the terms and the invoice, each with the token"
        )
        pdf_url = next(
            url
            for url in links
            if f"/attachment/{self.invoice_bob.invoice_pdf_report_id.id}" in url
        )
        self.assertIn(f"access_token={line.access_token}", pdf_url)
        pdf = self.url_open(pdf_url)
        self.assertEqual(pdf.status_code, 200)
        self.assertEqual(pdf.content[:5], b"%PDF-")
        self.assertEqual(pdf.content, self.invoice_bob.invoice_pdf_report_id.raw)
        without_token = self.url_open(pdf_url.split("?")[0], allow_redirects=False)
        self.assertRefused(without_token, location="/web/login")

        # that token opens that message only
        acme_url = self.line_acme_invoice.access_url
        for url in (
            f"{acme_url}?{link.query}",
            f"{acme_url}/attachment/{self.pdf_acme.id}?{link.query}",
            f"/my/messages?{link.query}",
        ):
            self.assertRefused(
                self.url_open(url, allow_redirects=False),
                location="/web/login",
                text=("Acme",),
            )
        self.assertRefused(
            self.url_open(
                f"{line.access_url}/attachment/{self.pdf_acme.id}?{link.query}",
                allow_redirects=False,
            )
        )

    def test_test_message_link_for_staff(self):
        """The link of a test email (sent to staff) opens the message, which
        the customer never sees."""
        line = self.msg_test.recipient_ids
        self.authenticate(None, None)
        page = self.url_open(f"{line.access_url}?access_token={line.access_token}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("Secret test", page.text)
        line.invalidate_recordset()
        self.assertFalse(line.read_date)

    def test_portal_tour(self):
        self.start_tour("/my", "customer_messages_portal", login="portal_ann")
        self.line_acme_invoice.invalidate_recordset()
        self.assertTrue(self.line_acme_invoice.read_date)
        # the reply typed in the page's box, on the line and the customer
        self.assertTrue(self.line_acme_invoice.is_replied)
        self.assertIn("Which invoice is this?", self.line_acme_invoice.reply_ids.body)
        self.assertFalse(self.line_ann_maintenance.read_date)
