from datetime import date, timedelta

from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import SendingCase


@tagged("customer_messages", "post_install", "-at_install")
class TestSingleSend(SendingCase):
    def test_single_send_with_documents(self):
        invoice_paid = self._create_invoice(self.alice, 100.0)
        payment = self._pay(invoice_paid)
        invoice_open = self._create_invoice(self.alice, 55.0)
        draft = self._create_invoice(self.alice, 42.0, post=False)
        other_invoice = self._create_invoice(self.bob, 77.0)

        composer = self._compose(
            user=self.user_messages,
            mode="single",
            partner_id=self.alice,
            template_id=self.template,
            channel="email",
        )
        composer.invoice_ids = invoice_open | draft
        composer.payment_ids = payment
        self.assertEqual(composer.recipient_count, 1)
        self.assertEqual(composer.preview_subject, "Notice for Alice Person")
        self.assertIn("your login is alice", composer.preview_body)
        self.assertIn(invoice_open.name, composer.preview_documents)

        composer.action_confirm()
        self.assertEqual(composer.step, "confirm")
        action = composer.action_send()
        message = self.env["customer.message"].browse(action["res_id"])
        # the dialog does not wait: the sending cron renders and sends
        self.assertFalse(self.smtp_handler.messages)
        self.assertIn(message.state, ("new", "processing"))
        self.assertTrue(
            self.env["ir.cron.trigger"].search(
                [
                    (
                        "cron_id",
                        "=",
                        self.env.ref(
                            "customer_messages.ir_cron_customer_message_process"
                        ).id,
                    )
                ]
            ),
            "the cron is woken at once",
        )
        self.env["customer.message"]._cron_process()  # the cron, woken by Send

        received = self.received("alice@example.com")
        self.assertEqual(len(received), 1)
        self.assertEqual(len(self.smtp_handler.messages), 1, "only Alice receives it")
        email = received[0]
        self.assertEqual(email["Subject"], "Notice for Alice Person")
        self.assertIn("your login is alice", self.html_body(email))
        pdfs = self.pdf_attachments(email)
        invoice_pdf = invoice_open.invoice_pdf_report_id
        recipient = message.recipient_ids
        proforma = recipient.attachment_ids.filtered(
            lambda a: a.res_model == "customer.message"
        )
        receipt = recipient.attachment_ids.filtered(
            lambda a: a.res_model == "account.payment"
        )
        self.assertEqual(
            pdfs,
            {
                invoice_pdf.name: invoice_pdf.raw,
                receipt.name: receipt.raw,
                proforma.name: proforma.raw,
            },
            "the open invoice, the payment's receipt, the draft's pro-forma",
        )
        self.assertEqual(
            invoice_open.invoice_pdf_report_id.name,
            invoice_open.name.replace("/", "_") + ".pdf",
        )
        self.assertEqual(receipt.res_id, payment.id)
        self.assertIn(payment.name.replace("/", "_"), receipt.name)
        self.assertIn(
            "Pro-forma invoice "
            + self.env["customer.message"]._get_proforma_number(draft),
            proforma.name,
        )
        self.assertNotIn(f"Pro-forma invoice {draft.id}.", proforma.name)
        self.assertNotIn(other_invoice.name.replace("/", "_") + ".pdf", pdfs)
        self.assertFalse(
            other_invoice.invoice_pdf_report_id, "nobody else's document was rendered"
        )
        self.assertFalse(invoice_paid.invoice_pdf_report_id)

        self.assertEqual(message.state, "sent")
        self.assertEqual(message.author_id, self.user_messages)
        self.assertEqual(recipient.state, "sent")
        self.assertTrue(recipient.sent_date)
        self.assertEqual(recipient.subject, "Notice for Alice Person")
        self.assertEqual(len(recipient.attachment_ids), 3)
        self.assertFalse(
            recipient.mail_mail_id.exists(), "sent emails are deleted by Odoo's queue"
        )
        self.assertEqual(
            message.recipient_filter, f"Customer ID {self.alice.id} (Alice Person)"
        )

    def test_invoice_pdf_rendered_once(self):
        invoice = self._create_invoice(self.alice, 10.0)
        self.assertFalse(invoice.invoice_pdf_report_id)
        values = {
            "subject": "Your invoice",
            "body_html": "<p>Here it is</p>",
            "channel": "email",
        }
        self.env["customer.message"].with_user(self.user_messages)._send_to_customers(
            invoice, values
        )
        attachment = invoice.invoice_pdf_report_id
        self.assertTrue(
            attachment, "the posted invoice keeps its PDF, as when Odoo sends it"
        )
        self.env["customer.message"].with_user(self.user_messages)._send_to_customers(
            invoice, values
        )
        self.assertEqual(
            invoice.invoice_pdf_report_id, attachment, "the kept PDF is reused"
        )
        self.assertEqual(len(self.received("alice@example.com")), 2)
        for email in self.received("alice@example.com"):
            self.assertEqual(list(self.pdf_attachments(email)), [attachment.name])

    def test_documents_printed_without_idle_wait(self):
        """The module's PDFs skip Odoo's idle JavaScript wait (its own
        setting), other reports keep Odoo's."""
        Report = self.env["ir.actions.report"]
        paperformat = self.env.company.paperformat_id

        def delay(report):
            args = report._build_wkhtmltopdf_args(paperformat, False)
            return args[args.index("--javascript-delay") + 1]

        self.assertEqual(delay(Report), "1000", "Odoo's report.print_delay")
        ours = Report.with_context(customer_messages_document=True)
        self.assertEqual(delay(ours), "0")
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.report_print_delay", "250"
        )
        self.assertEqual(delay(ours), "250")
        self.assertEqual(delay(Report), "1000")

    def test_trace_in_odoo(self):
        """A sent message leaves one line in the customer's chatter (not one
        per document), and the invoice it carried is marked sent with a
        line in its chatter, as Invoicing's Send does; a plain Messages /
        User sends it."""
        invoice = self._create_invoice(self.alice, 10.0)
        self.assertFalse(invoice.is_move_sent)
        payment = self._pay(self._create_invoice(self.alice, 20.0))

        def chatter(record):
            return self.env["mail.message"].search(
                [
                    ("model", "=", record._name),
                    ("res_id", "=", record.id),
                    ("message_type", "=", "notification"),
                ]
            )

        before = chatter(self.alice)
        payment_before = chatter(payment)
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.alice,
                {
                    "subject": "Your documents",
                    "channel": "email",
                    "invoice_policy": "unpaid",
                    "payment_policy": "last",
                },
            )
            .with_env(self.env)
        )
        self.assertEqual(len(self.pdf_attachments(self.received()[0])), 2)
        self.assertEqual(message.recipient_ids.state, "sent")
        logs = chatter(self.alice) - before
        self.assertEqual(len(logs), 1, "one line per message, not per document")
        self.assertIn("Customer message “Your documents” sent (Email)", logs.body)
        self.assertEqual(logs.author_id, self.user_sender.partner_id)
        self.assertTrue(invoice.is_move_sent)
        self.assertIn("Your documents", chatter(invoice)[:1].body)
        self.assertEqual(chatter(payment), payment_before, "receipts: no invoices")

        # a test to a staff address is no trace of the customer's
        composer = self._compose(
            mode="single", partner_id=self.bob, channel="email", subject="Hi"
        )
        composer.test_partner_id = self.bob
        composer.test_email = "staff@example.com"
        before = chatter(self.bob)
        composer.action_send_test()
        self.assertEqual(len(self.received("staff@example.com")), 1)
        self.assertEqual(chatter(self.bob), before)

    def test_placeholders_in_the_body(self):
        """{{ object.name }} typed in the body works as in the subject, for a
        plain Messages / User, and only the allowed placeholders do."""
        composer = self._compose(
            mode="single",
            partner_id=self.alice,
            channel="email",
            subject="Hello {{ object.name }}",
            body_html="<p>Dear {{ object.name }}, your login is "
            "<strong>{{ object.customer_login }}</strong>.</p>",
        )
        self.assertIn("Dear Alice Person, your login is", composer.preview_body)
        self.assertNotIn("{{", composer.preview_body)
        composer.action_confirm()
        message = self.env["customer.message"].browse(composer.action_send()["res_id"])
        self.env["customer.message"]._cron_process()
        (email,) = self.received("alice@example.com")
        body = self.html_body(email)
        self.assertIn("Dear Alice Person, your login is <strong>alice</strong>", body)
        self.assertNotIn("{{", body)
        self.assertEqual(message.recipient_ids.subject, "Hello Alice Person")
        # the confirmation and the email log show the subject as rendered
        confirm = etree.fromstring(
            composer.get_views([(False, "form")])["views"]["form"]["arch"]
        ).find(".//div[@class='o_customer_messages_confirm']")
        self.assertIsNotNone(confirm.find(".//field[@name='preview_subject']"))
        self.assertIsNone(confirm.find(".//field[@name='subject']"))
        log = etree.fromstring(
            self.env["customer.message.recipient"]
            .with_user(self.user_sender)
            .get_views([(False, "list")])["views"]["list"]["arch"]
        )
        self.assertEqual(
            log.find(".//field[@name='subject']").get("string"), "Subject as sent"
        )
        # Odoo's placeholder tool, on the fields of customers, in subject and body
        form = etree.fromstring(
            composer.get_views([(False, "form")])["views"]["form"]["arch"]
        )
        for fname in ("subject", "body_html"):
            (node,) = [
                node
                for node in form.iterfind(f".//field[@name='{fname}']")
                if node.get("options")
            ]
            self.assertIn("'dynamic_placeholder': true", node.get("options"))
        self.assertEqual(composer.render_model, "res.partner")

        with self.assertRaises(AccessError):
            self._compose(
                mode="single",
                partner_id=self.alice,
                channel="email",
                subject="Hello",
                body_html="<p>{{ object.sudo().env.cr.dbname }}</p>",
            ).action_confirm()

    def test_uploaded_files_belong_to_the_message(self):
        """A file uploaded in the composer (after it was saved once, so
        attached to it) stays with the sent message when Odoo's cleanup
        deletes the composer."""
        composer = self._compose(
            mode="single", partner_id=self.alice, channel="email", subject="Terms"
        )
        terms = (
            self.env["ir.attachment"]
            .with_user(self.user_sender)
            .create(
                {
                    "name": "terms.txt",
                    "raw": b"Our terms",
                    "res_model": composer._name,
                    "res_id": composer.id,
                }
            )
        )
        composer.attachment_ids = terms
        composer.action_confirm()
        message = self.env["customer.message"].browse(composer.action_send()["res_id"])
        composer.sudo().unlink()  # what the daily cleanup of wizards does
        self.assertTrue(terms.exists())
        self.assertEqual(message.attachment_ids, terms)
        self.assertEqual((terms.res_model, terms.res_id), (message._name, message.id))
        self.env["customer.message"]._cron_process()
        (email,) = self.received("alice@example.com")
        self.assertEqual(
            [part.get_filename() for part in email.iter_attachments()], ["terms.txt"]
        )

    def test_send_test(self):
        composer = self._compose(
            mode="single",
            partner_id=self.alice,
            template_id=self.template,
            channel="portal_email",
        )
        composer.test_partner_id = self.bob
        composer.test_email = "staff@example.com"
        composer.action_send_test()
        self.assertEqual(len(self.smtp_handler.messages), 1)
        (email,) = self.received("staff@example.com")
        self.assertEqual(email["Subject"], "Notice for Bob Company")
        self.assertFalse(self.received("bob@example.com"))
        message = self.env["customer.message"].search([("origin", "=", "test")])
        self.assertEqual(len(message), 1)
        self.assertTrue(message.is_test)
        self.assertEqual(message.recipient_ids.email, "staff@example.com")
        self.assertEqual(message.state, "sent")

    def test_exclusions(self):
        nomail = self._create_customer("No Mail", customer_login="nomail")
        invalid = self._create_customer(
            "Bad Mail", customer_login="bad", email="not-an-address"
        )
        banned = self._create_customer(
            "Banned", customer_login="banned", email="banned@example.com"
        )
        self.env["mail.blacklist"].create({"email": "banned@example.com"})
        composer = self._compose(mode="mass", channel="email", subject="Hello")
        composer.partner_ids = self.alice | nomail | invalid | banned
        self.assertEqual(composer.recipient_count, 1)
        self.assertEqual(composer.excluded_count, 3)
        for name in (
            "No Mail",
            "Bad Mail",
            "Banned",
            "no email address",
            "blacklisted",
        ):
            self.assertIn(name, composer.exclusion_summary)
        composer.action_confirm()
        message = self.env["customer.message"].browse(composer.action_send()["res_id"])
        self.env["customer.message"]._cron_process()  # the cron, woken by Send
        self.assertEqual(len(self.smtp_handler.messages), 1)
        self.assertEqual(message.recipient_count, 4)
        self.assertEqual(message.cancelled_count, 3)
        self.assertLines(message, {banned: ("cancelled", "blacklisted")})
        self.assertEqual(message.state, "sent")

    def test_portal_channel(self):
        portal_user = self.env["res.users"].create(
            {
                "name": "Alice Portal",
                "login": "alice_portal",
                "partner_id": self.alice.id,
                "group_ids": [Command.set(self.env.ref("base.group_portal").ids)],
            }
        )
        self.assertTrue(portal_user.share)
        self.smtp_handler.messages.clear()  # the portal invitation
        composer = self._compose(
            mode="mass", channel="portal", subject="Maintenance tonight"
        )
        composer.partner_ids = self.alice | self.bob
        self.assertEqual(composer.recipient_count, 1, "Bob has no portal access")
        self.assertIn("no customer portal access", composer.exclusion_summary)
        composer.action_confirm()
        message = self.env["customer.message"].browse(composer.action_send()["res_id"])
        self.env["customer.message"]._cron_process()  # the cron, woken by Send
        self.assertFalse(
            self.smtp_handler.messages, "the portal channel sends no email"
        )
        line = message.recipient_ids.filtered(lambda r: r.partner_id == self.alice)
        self.assertEqual(line.state, "sent")
        self.assertIn("Maintenance tonight", line.portal_message_id.body)
        self.assertEqual(line.portal_message_id.res_id, self.alice.id)
        self.assertEqual(portal_user.partner_id, self.alice)

    def test_template_editing_refused(self):
        composer = self._compose(
            user=self.user_messages, mode="single", partner_id=self.alice, subject="Hi"
        )
        self.assertFalse(composer.can_edit_templates)
        with self.assertRaises(AccessError):
            composer.action_save_as_template()
        with self.assertRaises(AccessError):
            self.env["mail.template"].with_user(self.user_messages).create(
                {
                    "name": "Mine",
                    "model_id": self.env["ir.model"]._get_id("res.partner"),
                    "subject": "{{ object.sudo().name }}",
                }
            )
        # dynamic code beyond plain placeholders is for template editors only
        with self.assertRaises(AccessError):
            self.env["customer.message"].with_user(
                self.user_messages
            )._send_to_customers(
                self.alice,
                {
                    "subject": "{{ object.sudo().write({'name': 'x'}) }}",
                    "channel": "email",
                },
            )
        # plain placeholders of the customer are fine
        self.env["customer.message"].with_user(self.user_messages)._send_to_customers(
            self.alice,
            {"subject": "Login {{ object.customer_login }}", "channel": "email"},
        )
        self.assertEqual(
            self.received("alice@example.com")[-1]["Subject"], "Login alice"
        )
        # a template editor saves the content as a new template
        self.user_manager.group_ids |= self.env.ref("mail.group_mail_template_editor")
        composer = self._compose(
            user=self.user_manager,
            mode="single",
            partner_id=self.alice,
            subject="Welcome {{ object.name }}",
            channel="portal_email",
            invoice_policy="unpaid",
            payment_policy="last",
        )
        composer.body_html = "<p>Welcome aboard</p>"
        with self.assertRaisesRegex(UserError, "name"):
            composer.action_save_as_template()
        composer.template_name = "Welcome pack"
        action = composer.action_save_as_template()
        self.assertEqual(action["params"]["message"], "Template “Welcome pack” saved.")
        # the composition stays in its dialog: nothing reopens it
        self.assertNotIn("next", action["params"])
        template = composer.template_id
        self.assertEqual(template.name, "Welcome pack")
        self.assertEqual(template.subject, "Welcome {{ object.name }}")
        self.assertEqual(template.model, "res.partner")
        self.assertEqual(template.customer_message_channel, "portal_email")
        self.assertEqual(template.customer_message_invoice_policy, "unpaid")
        self.assertEqual(template.customer_message_payment_policy, "last")

        # the template brings its settings back, for a plain user too
        other = self._compose(mode="single", partner_id=self.bob, template_id=template)
        self.assertEqual(other.channel, "portal_email")
        self.assertEqual(other.invoice_policy, "unpaid")
        self.assertEqual(other.payment_policy, "last")
        self.assertEqual(other.proforma_policy, "none")

    def test_template_sms_text(self):
        """A template's SMS text is the editor's: a plain user sends it."""
        self.alice.write(
            {"phone": "+32 470 12 34 56", "country_id": self.env.ref("base.be").id}
        )
        self.template.write(
            {
                "customer_message_channel": "sms",
                "customer_message_sms_body": "Hi {{ object.name }}, "
                "{{ object.customer_login.upper() }}",
            }
        )
        composer = self._compose(
            mode="single", partner_id=self.alice, template_id=self.template
        )
        self.assertEqual(composer.channel, "sms")
        self.assertEqual(composer.preview_sms_body, "Hi Alice Person, ALICE")

    @mute_logger(
        "odoo.addons.mail.models.mail_render_mixin",
        "odoo.addons.customer_messages.models.customer_message_sending",
    )
    def test_failure_of_one_does_not_stop_the_others(self):
        carol = self._create_customer(
            "Carol", customer_login="carol", email="carol@example.com"
        )
        carol.parent_id = self.bob
        message = (
            self.env["customer.message"]
            .with_user(self.user_editor)  # code: for editors
            ._send_to_customers(
                self.alice | carol,
                {
                    "subject": "For {{ object.parent_id.name.upper() }}",
                    "channel": "email",
                },
            )
        )
        (email,) = self.received("carol@example.com")
        self.assertEqual(email["Subject"], "For BOB COMPANY")
        self.assertEqual(len(self.smtp_handler.messages), 1)
        self.assertLines(
            message,
            {self.alice: ("error", "'bool' object has no attribute 'upper'")},
        )
        self.assertEqual(message.state, "error")

    def test_bounce(self):
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.alice | self.bob, {"subject": "Hello", "channel": "email"}
            )
        )
        self.assertEqual(message.state, "sent")
        (sent,) = self.received("alice@example.com")
        bounce = f"""From: MAILER-DAEMON@mx.example.net
To: isp@example.com
Subject: Undelivered Mail Returned to Sender
Message-Id: <bounce-1@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="XYZ"

--XYZ
Content-Type: text/plain

<alice@example.com>: host mx.example.com said: 550 5.1.1 User unknown

--XYZ
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; alice@example.com
Action: failed
Status: 5.1.1

--XYZ
Content-Type: text/rfc822-headers

Message-Id: {sent["Message-Id"]}
From: isp@example.com
To: alice@example.com
Subject: Hello

--XYZ--
"""
        self.env["mail.thread"].message_process(False, bounce)
        line = message.recipient_ids.filtered(lambda r: r.partner_id == self.alice)
        self.assertEqual(line.state, "error")
        self.assertIn("550 5.1.1 User unknown", line.failure_reason)
        self.assertEqual(message.state, "error")
        self.assertEqual(message.sent_count, 1, "Bob's email did not bounce")

    def test_bounce_address(self):
        """Bounces go to Odoo's bounce alias of the alias domain, as for
        Odoo's own emails (envelope sender and Return-Path)."""
        alias_domain = self.env["mail.alias.domain"].create(
            {"name": "isp.example.com", "bounce_alias": "bounces"}
        )
        self.env.company.alias_domain_id = alias_domain
        self.env["customer.message"].with_user(self.user_sender)._send_to_customers(
            self.alice, {"subject": "Hello", "channel": "email"}
        )
        (item,) = self.smtp_handler.messages
        self.assertEqual(item["mail_from"], "bounces@isp.example.com")
        self.assertEqual(item["message"]["Return-Path"], "bounces@isp.example.com")

    def test_bad_input(self):
        Message = self.env["customer.message"]
        messages = Message.search([])  # the demo's, on a database with demo data
        composer = (
            self.env["customer.message.composer"]
            .with_user(self.user_sender)
            .create({"mode": "single"})
        )
        with self.assertRaisesRegex(UserError, "Choose the customer"):
            composer.action_confirm()
        composer.partner_id = self.alice
        with self.assertRaisesRegex(UserError, "needs a subject"):
            composer.action_confirm()
        composer.subject = "Hi"
        composer.test_email = "nope"
        with self.assertRaisesRegex(UserError, "Customer ID to render"):
            composer.action_send_test()
        composer.test_partner_id = self.alice
        with self.assertRaisesRegex(UserError, "valid test email"):
            composer.action_send_test()
        self.assertEqual(Message.search([]), messages, "nothing was sent")

    def test_last_unpaid_invoice_rule(self):
        """Invoices: "Last unpaid one" attaches each customer's newest posted
        invoice not fully paid ("Last one" would be the paid one); the
        composer says in words which documents each customer gets."""
        older = self._create_invoice(
            self.alice, 10.0, invoice_date=date.today() - timedelta(days=40)
        )
        last_unpaid = self._create_invoice(self.alice, 20.0)
        paid = self._create_invoice(self.alice, 30.0)
        self._pay(paid)
        bob_unpaid = self._create_invoice(self.bob, 25.0)
        composer = self._compose(
            mode="mass",
            status_active=True,
            subject="Your last invoice",
            invoice_policy="last_unpaid",
        )
        self.assertEqual(
            composer.documents_summary,
            "Each customer gets their last unpaid invoice, as a PDF.",
        )
        message = self.env["customer.message"].new(composer._prepare_message_values())
        documents = message._get_documents(self.alice | self.bob)
        self.assertEqual(documents[self.alice][0], last_unpaid)
        self.assertNotIn(older, documents[self.alice][0])
        self.assertEqual(documents[self.bob][0], bob_unpaid)
        message.invoice_policy = "last"
        self.assertEqual(message._get_documents(self.alice)[self.alice][0], paid)
        # a draft is never paid: not a rule of pro-formas
        proforma_rules = dict(
            self.env["customer.message"]._fields["proforma_policy"].selection
        )
        self.assertNotIn("last_unpaid", proforma_rules)
        composer.invoice_policy = "none"
        self.assertEqual(
            composer.documents_summary, "No financial document is attached."
        )
