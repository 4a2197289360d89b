import html
import re
from urllib.parse import urlsplit

from odoo.tests import HttpCase, tagged
from odoo.tools import SQL

from .common import SendingCase

PAY_LINK = re.compile(r'href="([^"]*/my/invoices/[^"]*)"')


class PayLinksCase(HttpCase, SendingCase):
    """Pay links in the emails (really delivered), opened by the customer
    without logging in. The invoices are paid by a payment registered in
    Invoicing (Register payment), as the portal's payment providers
    (account_payment) are not among the module's dependencies."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dunning_template = cls.env["mail.template"].create(
            {
                "name": "Dunning with pay links",
                "model_id": cls.env["ir.model"]._get_id("res.partner"),
                "subject": "Unpaid invoices of {{ object.name }}",
                "body_html": "<p>Dear <t t-out='object.name'/>, please pay.</p>"
                '<t t-out="pay_links(object)"/>',
            }
        )
        cls.own_reseller = cls.env["res.partner"].create(
            {"name": "Reseller of the tests", "is_company": True, "is_reseller": True}
        )
        (cls.alice | cls.bob).reseller_id = cls.own_reseller

    def _links(self, address):
        """The pay links of the emails to the address, as paths."""
        return [
            urlsplit(html.unescape(url))._replace(scheme="", netloc="").geturl()
            for email in self.received(address)
            for url in PAY_LINK.findall(self.html_body(email))
        ]

    def _open(self, path):
        """The page the customer opens, not logged in."""
        return self.url_open(path, allow_redirects=False)

    def _set_due(self, invoice, due):
        # sql: time shifted: the invoice was due on that day
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE account_move SET invoice_date_due = %s WHERE id = %s",
                due,
                invoice.id,
            )
        )
        invoice.invalidate_recordset(["invoice_date_due"])


@tagged("customer_messages", "post_install", "-at_install")
class TestPayLinks(PayLinksCase):
    """The composer's Add pay links."""

    def test_composer_adds_pay_links(self):
        unpaid = self._create_invoice(self.alice, 80.0)
        paid = self._create_invoice(self.alice, 20.0)
        self._pay(paid)
        bobs = self._create_invoice(self.bob, 50.0)
        Message = self.env["customer.message"]
        for customer, add in ((self.alice, True), (self.bob, False)):
            composer = self._compose(
                partner_id=customer,
                subject="Your invoices",
                body_html="<p>Hello</p>",
                add_pay_links=add,
            )
            composer.action_send()
            Message._cron_process()

        (link,) = self._links("alice@example.com")
        self.assertEqual(
            link,
            f"/my/invoices/{unpaid.id}?access_token={unpaid.access_token}",
            "the unpaid invoice only, with its access token",
        )
        body = self.html_body(self.received("alice@example.com")[0])
        self.assertIn(f"Pay invoice {unpaid.name}", body)
        self.assertNotIn(paid.name, body)
        self.assertNotIn(bobs.name, body)
        self.assertFalse(self._links("bob@example.com"), "not ticked: no link")

        # the customer opens it without logging in: the invoice's portal page
        page = self._open(link)
        self.assertEqual(page.status_code, 200)
        self.assertIn(unpaid.name, page.text)
        # negative twin: the same page without the token (or with another
        # one) is not shown
        for path in (
            f"/my/invoices/{unpaid.id}",
            f"/my/invoices/{unpaid.id}?access_token=not-the-token",
            f"/my/invoices/{bobs.id}?access_token={unpaid.access_token}",
        ):
            page = self._open(path)
            self.assertNotEqual(page.status_code, 200, path)
            self.assertNotIn(unpaid.name, page.text, path)
            self.assertNotIn(bobs.name, page.text, path)
