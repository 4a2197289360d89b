import re
from urllib.parse import parse_qs, unquote, urlsplit

from odoo.tests import tagged

from ..test_replies import RepliesCase, raw_email


@tagged("customer_messages", "post_install", "-at_install")
class TestUnsubscribeByEmail(RepliesCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.marketing = cls.env["customer.message.category"].create(
            {"name": "Offers", "one_click_unsubscribe": True}
        )

    def _mailto(self, address):
        header = self.received(address)[0]["List-Unsubscribe"]
        mailto = re.search(r"<mailto:([^>]+)>", header).group(1)
        parts = urlsplit("mailto:" + mailto)
        return unquote(parts.path), parse_qs(parts.query)["subject"][0]

    def _opted_out(self, partner):
        return self.env["customer.message.preference"].search(
            [
                ("partner_id", "=", partner.id),
                ("category_id", "=", self.marketing.id),
                ("channel", "=", "email"),
                ("opted_out", "=", True),
            ]
        )

    def test_mailto_unsubscribes(self):
        self._send(self.alice | self.bob, category_id=self.marketing.id)
        to, subject = self._mailto("alice@example.com")
        self.assertEqual(to, "customer-unsubscribe@isp.example.com")
        # a forged subject: Bob's id with Alice's signature
        forged = subject.replace(f"[{self.alice.id}-", f"[{self.bob.id}-")
        self._process(
            raw_email("bob@example.com", to, forged, "", "<u1@mail.example.com>")
        )
        self.assertFalse(self._opted_out(self.bob))
        self.assertFalse(self._opted_out(self.alice))
        # the mail client sends the mailto as it is
        self._process(
            raw_email("alice@example.com", to, subject, "", "<u2@mail.example.com>")
        )
        self.assertTrue(self._opted_out(self.alice))
        self.assertFalse(self._opted_out(self.bob))
        message = self._send(self.alice | self.bob, category_id=self.marketing.id)
        self.assertEqual(self._line(message, self.alice).state, "cancelled")
        self.assertEqual(self._line(message, self.bob).state, "sent")
