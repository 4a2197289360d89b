import re
from urllib.parse import urlsplit

from odoo.exceptions import UserError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from .common import BrowserTour, SendingCase


@tagged("customer_messages", "post_install", "-at_install")
class TestReadReceipts(BrowserTour, HttpCase, SendingCase):
    """Proof of reading, over HTTP: the portal keeps when each customer read
    a message and, when it asks, when and by whom it was acknowledged; the
    history shows the read rate, and a reminder goes to the others only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.carl, cls.dora = (
            cls._create_customer(name, email=f"{login}@example.com")
            for name, login in (("Carl Client", "carl"), ("Dora Doe", "dora"))
        )
        for partner, login in ((cls.carl, "portal_carl"), (cls.dora, "portal_dora")):
            new_test_user(
                cls.env,
                login=login,
                groups="base.group_portal",
                partner_id=partner.id,
                name=partner.name,
                email=partner.email,
                context={"no_reset_password": True},
            )
        cls.notice = (
            cls.env["customer.message"]
            .with_user(cls.user_sender)
            ._send_to_customers(
                cls.carl | cls.dora,
                {
                    "subject": "New terms of service",
                    "body_html": "<p>Our terms change on 1 January.</p>",
                    "channel": "portal",
                    "ask_acknowledgement": True,
                },
            )
        )
        cls.line_carl, cls.line_dora = (
            cls.notice.recipient_ids.filtered(
                lambda line, p=partner: line.partner_id == p
            )
            for partner in (cls.carl, cls.dora)
        )

    def _acknowledge(self, line, access_token=None):
        """Open the line's page and click I acknowledge, as a browser would
        (the form's CSRF token included)."""
        url = line.access_url + (
            f"?access_token={access_token}" if access_token else ""
        )
        page = self.url_open(url).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        data = {"csrf_token": token.group(1) if token else ""}
        if access_token:
            data["access_token"] = access_token
        return self.url_open(f"{line.access_url}/acknowledge", data=data)

    def test_read_acknowledged_and_reminded(self):
        self.assertEqual(self.notice.state, "sent")
        self.assertEqual(self.notice.published_count, 2)
        self.assertEqual(self.notice.read_rate, 0.0)

        self.authenticate("portal_carl", "portal_carl")
        page = self.url_open(self.line_carl.access_url)
        self.assertIn("Our terms change on 1 January.", page.text)
        self.assertIn("I acknowledge", page.text)
        self.assertTrue(self.line_carl.read_date)
        self.assertFalse(self.line_carl.acknowledged_date)
        self.notice.invalidate_recordset()
        self.assertEqual(self.notice.read_rate, 0.5)

        csrf_token = self._csrf_of(self.line_carl)
        response = self._acknowledge(self.line_carl)
        self.assertEqual(urlsplit(response.url).path, self.line_carl.access_url)
        self.assertIn("Acknowledged on", response.text)
        self.assertNotIn("I acknowledge</button>", response.text)
        self.assertTrue(self.line_carl.acknowledged_date)
        self.assertEqual(self.line_carl.acknowledged_uid.login, "portal_carl")
        first = self.line_carl.acknowledged_date
        self._acknowledge(self.line_carl)
        self.assertEqual(self.line_carl.acknowledged_date, first, "the first time kept")

        # Carl cannot acknowledge for Dora, nor read her page
        response = self.url_open(
            f"{self.line_dora.access_url}/acknowledge",
            data={"csrf_token": csrf_token},
            allow_redirects=False,
        )
        self.assertIn(response.status_code, (302, 303))
        self.assertFalse(self.line_dora.acknowledged_date)
        self.assertFalse(self.line_dora.read_date)

        # the history: one of two acknowledged; the reminder goes to Dora only
        self.notice.invalidate_recordset()
        self.assertEqual(self.notice.acknowledged_count, 1)
        action = self.notice.with_user(self.user_sender).action_remind()
        reminder = self.env["customer.message"].browse(action["res_id"])
        self.assertEqual(reminder.reminder_of_id, self.notice)
        self.assertEqual(reminder.subject, "Reminder: New terms of service")
        self.assertTrue(reminder.ask_acknowledgement)
        self.assertEqual(reminder.recipient_ids.partner_id, self.dora)
        self.assertEqual(reminder.origin, "manual")
        # a second click the same day opens the same reminder
        again = self.notice.with_user(self.user_sender).action_remind()
        self.assertEqual(again["res_id"], reminder.id)
        self.assertEqual(self.notice.reminder_ids, reminder)

    def _csrf_of(self, line):
        page = self.url_open(line.access_url).text
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def test_link_holder_acknowledges(self):
        """The holder of the email's link (not logged in) acknowledges too,
        with no user recorded."""
        token = self.line_dora._portal_ensure_token()
        self._acknowledge(self.line_dora, access_token=token)
        self.assertTrue(self.line_dora.acknowledged_date)
        self.assertFalse(self.line_dora.acknowledged_uid)
        self.assertFalse(self.line_carl.acknowledged_date)

    def test_message_that_does_not_ask(self):
        plain = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.carl,
                {"subject": "News", "body_html": "<p>Hi</p>", "channel": "portal"},
            )
        )
        line = plain.recipient_ids
        self.authenticate("portal_carl", "portal_carl")
        self.assertNotIn("I acknowledge", self.url_open(line.access_url).text)
        with self.assertRaisesRegex(UserError, "does not ask to be acknowledged"):
            line._acknowledge(self.env.user)
        self.assertFalse(line.acknowledged_date)

    def test_nobody_to_remind(self):
        # as the portal controller does it (sudo: the lines are the system's)
        for line in self.notice.sudo().recipient_ids:
            line._acknowledge(self.env["res.users"])
        with self.assertRaisesRegex(UserError, "Every customer has acknowledged"):
            self.notice.with_user(self.user_sender).action_remind()

    def _send_plain(self, partner):
        """A portal message that does not ask to be acknowledged: its
        reminder goes to those who have not read it."""
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                partner,
                {
                    "subject": "Price change",
                    "body_html": "<p>New prices</p>",
                    "channel": "portal",
                },
            )
        )
        return message, message.recipient_ids

    def test_link_scanner_does_not_mark_read(self):
        """A mail provider's link scanner fetches the email's link: the
        message is not read, the reminder still goes to the customer. The
        page's own POST (the browser's script, with the CSRF token) counts."""
        message, line = self._send_plain(self.dora)
        token = line._portal_ensure_token()
        self.authenticate(None, None)
        page = self.url_open(f"{line.access_url}?access_token={token}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("New prices", page.text)
        self.assertIn(f'data-read-url="{line.access_url}/read"', page.text)
        line.invalidate_recordset()
        self.assertFalse(line.read_date, "a GET of the link is not a reading")
        self.assertEqual(message._get_partners_to_remind(), self.dora)
        # a POST without the page's CSRF token is refused
        read_url = f"{line.access_url}/read"
        with mute_logger("odoo.http"):
            response = self.url_open(read_url, data={"access_token": token})
        self.assertEqual(response.status_code, 400)
        # nor with another line's token
        csrf = re.search(r'csrf_token: "([^"]+)"', page.text).group(1)
        other_token = self.line_carl._portal_ensure_token()
        with mute_logger("odoo.http"):
            response = self.url_open(
                read_url, data={"csrf_token": csrf, "access_token": other_token}
            )
        self.assertEqual(response.status_code, 404)
        line.invalidate_recordset()
        self.assertFalse(line.read_date)
        # the page's POST, as its script sends it
        response = self.url_open(
            read_url, data={"csrf_token": csrf, "access_token": token}
        )
        self.assertEqual(response.json(), {"read": True})
        line.invalidate_recordset()
        self.assertTrue(line.read_date)
        message.invalidate_recordset()
        self.assertFalse(message._get_partners_to_remind())
        self.assertEqual(message.read_count, 1)

    def test_customer_logged_in_view_marks_read(self):
        """The customer's own logged-in view counts at once; another
        customer holding the link does not make it read by a GET."""
        message, line = self._send_plain(self.dora)
        token = line._portal_ensure_token()
        self.authenticate("portal_carl", "portal_carl")
        self.assertEqual(
            self.url_open(f"{line.access_url}?access_token={token}").status_code, 200
        )
        line.invalidate_recordset()
        self.assertFalse(line.read_date)
        self.authenticate("portal_dora", "portal_dora")
        page = self.url_open(line.access_url)
        self.assertIn("New prices", page.text)
        self.assertNotIn("data-read-url", page.text, "already counted")
        line.invalidate_recordset()
        self.assertTrue(line.read_date)
        self.assertFalse(message._get_partners_to_remind())

    def test_link_holder_browser_marks_read(self):
        """The holder of the email's link opens it in a browser: the page's
        script posts the read receipt."""
        token = self.line_dora._portal_ensure_token()
        self.start_tour(
            f"{self.line_dora.access_url}?access_token={token}",
            "customer_messages_read_receipt",
        )
        self.line_dora.invalidate_recordset()
        self.assertTrue(self.line_dora.read_date)
        self.assertFalse(self.line_carl.read_date)

    def test_non_ascii_access_token_refused(self):
        """A made-up token in any alphabet is refused like any other (the
        visitor goes to the login page), on the page and on its read
        receipt; the real token still opens the page."""
        self.authenticate(None, None)
        url = self.line_dora.access_url
        token = self.line_dora._portal_ensure_token()
        page = self.url_open(f"{url}?access_token={token}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("Our terms change on 1 January.", page.text)
        csrf = re.search(r'csrf_token: "([^"]+)"', page.text).group(1)
        with mute_logger("odoo.http"):
            response = self.url_open(f"{url}?access_token=é€", allow_redirects=False)
            self.assertIn(response.status_code, (302, 303))
            self.assertIn("/web/login", response.headers["Location"])
            response = self.url_open(
                f"{url}/read", data={"csrf_token": csrf, "access_token": "é€"}
            )
            self.assertEqual(response.status_code, 404)
        self.line_dora.invalidate_recordset()
        self.assertFalse(self.line_dora.read_date)
