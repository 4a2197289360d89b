import ast
from datetime import timedelta

from lxml import etree

from odoo import fields
from odoo.fields import Domain
from odoo.tests import tagged
from odoo.tools import format_amount

from .common import SendingCase


@tagged("customer_messages", "post_install", "-at_install")
class TestStaffViews(SendingCase):
    """What staff read in the lists, titles and forms: no raw placeholder,
    the true state of a message and of a line, filters that narrow, the
    Customer ID searched first, readable pro-forma names."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.nomail = cls._create_customer("Nomail Person", customer_login="nomail")

    def _send(self, partners, user=None, **values):
        return (
            self.env["customer.message"]
            .with_user(user or self.user_sender)
            ._send_to_customers(
                partners,
                {"subject": "Hello", "channel": "email", **values},
            )
        )

    def _search_with_filters(self, model, view_xmlid, names):
        """The records a search view's filters find when ticked together, as
        the web client combines them: the filters of one group (between two
        separators) add up, the groups narrow each other."""
        arch = etree.fromstring(self.env.ref(view_xmlid).arch)
        groups, group = [], []
        for node in arch:
            if node.tag == "filter" and node.get("domain"):
                group.append(node)
                continue
            if group:
                groups.append(group)
            group = []
        if group:
            groups.append(group)
        domain = Domain.TRUE
        for group in groups:
            ticked = [
                Domain(ast.literal_eval(node.get("domain")))
                for node in group
                if node.get("name") in names
            ]
            if ticked:
                domain &= Domain.OR(ticked)
        return self.env[model].with_user(self.user_sender).search(domain)

    # item 1: no raw placeholders where staff read lists and titles

    def test_history_title_without_placeholders(self):
        message = self._send(self.alice, subject="Your invoice, {{ object.name }}")
        self.assertEqual(message.display_subject, "Your invoice, [Customer]")
        self.assertEqual(message.display_name, "Your invoice, [Customer]")
        line = self._line(message, self.alice)
        self.assertEqual(line.subject, "Your invoice, Alice Person", "as sent")
        self.assertEqual(line.display_name, "Your invoice, [Customer] - Alice Person")
        self.assertEqual(
            message._get_readable_text("Dear {{ object.name }} ({{ object.email }})"),
            "Dear [Customer] ([Customer: Email])",
        )
        # twin: a subject without placeholders reads as typed
        plain = self._send(self.alice, subject="Maintenance tonight")
        self.assertEqual(plain.display_name, "Maintenance tonight")
        # the History list, its form's title and the runs of a recurring
        # message show the readable subject, never the raw one
        for view in (
            "customer_messages.customer_message_view_list",
            "customer_messages.customer_message_view_form",
        ):
            arch = etree.fromstring(
                self.env["customer.message"]
                .with_user(self.user_sender)
                .get_view(self.env.ref(view).id)["arch"]
            )
            self.assertTrue(arch.xpath("//field[@name='display_subject']"))
            raw = "/list/field[@name='subject'] | //h1/field[@name='subject']"
            self.assertFalse(arch.xpath(raw), view)

    # item 3: the shipped unpaid reminder attaches the unpaid invoices

    def test_unpaid_reminder_template_attaches_invoices(self):
        template = self.env.ref("customer_messages.mail_template_unpaid_reminder")
        unpaid = self._create_invoice(self.alice, 30.0) | self._create_invoice(
            self.alice, 40.0
        )
        paid = self._create_invoice(self.alice, 50.0)
        self._pay(paid)
        composer = self._compose(
            mode="single", partner_id=self.alice, template_id=template, channel="email"
        )
        self.assertEqual(composer.invoice_policy, "unpaid")
        composer.action_confirm()
        message = self.env["customer.message"].browse(composer.action_send()["res_id"])
        self.env["customer.message"]._cron_process()
        self.assertEqual(message.state, "sent")
        (email,) = self.received("alice@example.com")
        self.assertIn("they are attached", self.html_body(email))
        self.assertEqual(
            set(self.pdf_attachments(email)),
            set(unpaid.invoice_pdf_report_id.mapped("name")),
            "the two unpaid invoices, not the paid one",
        )
        # the same from code naming the template only (the one entry)
        self.smtp_handler.messages.clear()
        self._send(self.alice, subject=False, template_id=template.id)
        (email,) = self.received("alice@example.com")
        self.assertEqual(len(self.pdf_attachments(email)), 2)
        # twin: a template without a document rule attaches nothing
        self.smtp_handler.messages.clear()
        self._send(self.alice, subject=False, template_id=self.template.id)
        (email,) = self.received("alice@example.com")
        self.assertFalse(self.pdf_attachments(email))

    # item 4: a status ticked beside the default narrows the History

    def test_history_status_filter_narrows(self):
        sent = self._send(self.alice)
        unsent = self._send(self.nomail)
        removed = self._send(self.alice, subject="Removed one")
        removed.with_user(self.user_sender).action_remove()
        view = "customer_messages.customer_message_view_search"
        model = "customer.message"
        ours = sent | unsent | removed
        found = self._search_with_filters(model, view, {"not_removed"}) & ours
        self.assertEqual(found, sent | unsent, "the default: without removed")
        found = self._search_with_filters(model, view, {"not_removed", "state_sent"})
        self.assertEqual(found & ours, sent, "Sent beside the default: Sent only")
        found = self._search_with_filters(
            model, view, {"not_removed", "state_sent", "state_unsent"}
        )
        self.assertEqual(found & ours, sent | unsent, "two statuses add up")
        found = self._search_with_filters(model, view, {"not_removed", "state_removed"})
        self.assertEqual(found & ours, ours, "the removed ones beside: all")

    # item 5: a line waiting for an automatic retry reads Deferred

    def test_deferred_line(self):
        self.smtp_handler.deferred.add("bob@example.com")
        message = self._send(self.alice | self.bob)
        bob = self._line(message, self.bob).with_user(self.user_sender)
        alice = self._line(message, self.alice).with_user(self.user_sender)
        self.assertEqual(bob.state, "processing", "still pending for the counts")
        self.assertEqual(bob.delivery_status, "deferred")
        self.assertIn("451 4.7.1 Greylisted", bob.status_reason)
        self.assertEqual(alice.delivery_status, "sent", "twin: sent reads Sent")
        self.assertFalse(alice.status_reason)
        Line = self.env["customer.message.recipient"].with_user(self.user_sender)
        ours = Domain("message_id", "=", message.id)
        self.assertEqual(
            Line.search(ours & Domain("delivery_status", "in", ["deferred"])), bob
        )
        self.assertEqual(
            Line.search(ours & Domain("delivery_status", "in", ["sent"])), alice
        )
        # the retry goes through: Sent, without a reason
        self.smtp_handler.deferred.clear()
        bob.sudo().mail_mail_id.scheduled_date = fields.Datetime.now() - timedelta(
            seconds=1
        )
        self.env["customer.message"]._cron_process()
        bob.invalidate_recordset()
        self.assertEqual(bob.delivery_status, "sent")
        self.assertFalse(bob.status_reason)

    # item 7: the email log searches a number as a Customer ID first

    def test_email_log_searches_customer_id_first(self):
        arch = etree.fromstring(
            self.env.ref(
                "customer_messages.customer_message_recipient_view_search"
            ).arch
        )
        first = arch.xpath("//field")[0]
        self.assertEqual(first.get("name"), "customer_number")
        # the read and acknowledged dates are columns shown by default
        for view in (
            "customer_messages.customer_message_recipient_view_list",
            "customer_messages.customer_message_view_form",
        ):
            arch = etree.fromstring(self.env.ref(view).arch)
            for fname in ("read_date", "acknowledged_date"):
                (column,) = arch.xpath(f"//list/field[@name='{fname}']")
                self.assertEqual(column.get("optional"), "show", (view, fname))
        arch = etree.fromstring(
            self.env.ref("customer_messages.customer_message_view_list").arch
        )
        (rate,) = arch.xpath("//field[@name='read_rate']")
        self.assertEqual(rate.get("optional"), "show")
        # the form shows the read and acknowledged counts plainly, beside
        # the read rate, not only as buttons that fold under More
        arch = etree.fromstring(
            self.env.ref("customer_messages.customer_message_view_form").arch
        )
        for fname in ("read_count", "acknowledged_count"):
            self.assertTrue(arch.xpath(f"//sheet/group//field[@name='{fname}']"))

    # item 10: a truthful state, sent date and pro-forma name

    def test_message_reaching_nobody(self):
        message = self._send(self.nomail)
        self.assertLines(message, {self.nomail: ("cancelled", "no email address")})
        self.assertEqual(message.state, "unsent")
        self.assertEqual(
            dict(message._fields["state"]._description_selection(self.env))["unsent"],
            "Reached nobody",
        )
        self.assertFalse(message.first_sent_date)
        # twin: one customer reached, the message is Sent
        message = self._send(self.nomail | self.alice)
        self.assertEqual(message.state, "sent")
        self.assertTrue(message.first_sent_date)

    def test_sent_on_is_when_sent(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.approval_threshold", "1"
        )
        message = self._send(self.alice | self.bob, subject="Price change")
        self.assertEqual(message.state, "to_approve")
        # confirmed yesterday, approved today
        confirmed = fields.Datetime.now() - timedelta(days=1)
        message.sudo().date = confirmed
        self.assertFalse(message.first_sent_date, "nobody got it yet")
        message.with_user(self.user_manager).action_approve()
        self.env["customer.message"]._cron_process()
        message.invalidate_recordset()
        self.assertEqual(message.state, "sent")
        self.assertEqual(message.date, confirmed)
        self.assertGreaterEqual(message.first_sent_date, message.approved_date)
        arch = etree.fromstring(
            self.env.ref("customer_messages.customer_message_view_form").arch
        )
        audit = arch.xpath("//group[@name='audit_sent']")[0]
        self.assertTrue(audit.xpath("field[@name='first_sent_date']"))
        self.assertEqual(message._fields["first_sent_date"].string, "Sent on")
        (confirmed,) = audit.xpath("field[@name='date']")
        self.assertNotEqual(confirmed.get("string"), "Sent on")

    def test_proforma_label(self):
        draft = self._create_invoice(self.alice, 42.0, post=False)
        label = self.env["customer.message"]._get_proforma_number(draft)
        amount = format_amount(self.env, 42.0, draft.currency_id)
        day = fields.Date.to_string(draft.invoice_date)
        self.assertEqual(label, f"{day} ({amount})")
        message = self._send(
            self.alice,
            user=self.user_messages,
            invoice_ids=[fields.Command.set(draft.ids)],
        )
        (email,) = self.received("alice@example.com")
        self.assertEqual(
            list(self.pdf_attachments(email)), [f"Pro-forma invoice {label}.pdf"]
        )
        self.assertEqual(message.state, "sent")
        # twin: a posted invoice keeps its number
        posted = self._create_invoice(self.alice, 10.0)
        self.assertEqual(
            self.env["customer.message"]._get_proforma_number(posted), posted.name
        )
