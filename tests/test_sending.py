from datetime import date

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..models.mail_mail import SEND_CHUNK_SIZE
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
        self.assertIn(f"Pro-forma invoice {draft.id}", proforma.name)
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
        self.assertEqual(len(self.smtp_handler.messages), 1)
        self.assertEqual(message.recipient_count, 4)
        self.assertEqual(message.cancelled_count, 3)
        excluded = message.recipient_ids.filtered(lambda r: r.partner_id == banned)
        self.assertEqual(excluded.state, "cancelled")
        self.assertIn("blacklisted", excluded.failure_reason)
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
            user=self.user_manager, mode="single", partner_id=self.alice
        )
        composer.subject = "Welcome {{ object.name }}"
        composer.body_html = "<p>Welcome aboard</p>"
        composer.action_save_as_template()
        self.assertEqual(composer.template_id.subject, "Welcome {{ object.name }}")
        self.assertEqual(composer.template_id.model, "res.partner")

    @mute_logger(
        "odoo.addons.mail.models.mail_render_mixin",
        "odoo.addons.customer_messages.models.customer_message_recipient",
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
        failed = message.recipient_ids.filtered(lambda r: r.partner_id == self.alice)
        self.assertEqual(failed.state, "error")
        self.assertIn("'bool' object has no attribute 'upper'", failed.failure_reason)
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
        self.assertFalse(self.env["customer.message"].search([]))


@tagged("customer_messages", "post_install", "-at_install")
class TestMassSend(SendingCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.crowd = cls.env["res.partner"].create(
            [
                {
                    "name": f"Customer {index:03d}",
                    "customer_login": f"crowd{index:03d}",
                    "customer_status": "active",
                    "billing_type": "prepaid" if index % 2 else "recurring",
                    "email": f"customer{index:03d}@example.com",
                    "location_id": cls.location_south.id,
                }
                for index in range(200)
            ]
        )
        cls.with_invoice = cls.crowd[:3]
        cls.invoices = cls.env["account.move"]
        for customer in cls.with_invoice:
            cls.invoices |= cls._create_invoice(
                customer, 30.0, invoice_date=date(2026, 1, 5)
            )
            cls.invoices |= cls._create_invoice(
                customer, 31.0, invoice_date=date(2026, 2, 5)
            )

    def _mass_compose(self):
        composer = self._compose(
            user=self.user_messages,
            mode="mass",
            channel="email",
            template_id=self.template,
            invoice_policy="last",
        )
        composer.location_ids = self.location_south
        self.assertEqual(composer.recipient_count, 201, "Bob and the 200")
        composer.action_confirm()
        return self.env["customer.message"].browse(composer.action_send()["res_id"])

    def test_mass_send_by_cron(self):
        message = self._mass_compose()
        self.assertEqual(message.state, "new", "large sends wait for the cron")
        self.assertFalse(self.smtp_handler.messages)
        self.assertEqual(message.recipient_filter, "Locations: South Town")

        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.batch_size", "80"
        )
        self.env["customer.message"]._cron_process()

        self.assertEqual(len(self.smtp_handler.messages), 201)
        for customer in self.crowd | self.bob:
            (email,) = self.received(customer.email)
            self.assertEqual(email["Subject"], f"Notice for {customer.name}")
            self.assertIn(
                f"your login is {customer.customer_login}", self.html_body(email)
            )
            pdfs = self.pdf_attachments(email)
            if customer in self.with_invoice:
                last = self.invoices.filtered(
                    lambda m, c=customer: m.partner_id == c and m.amount_total == 31.0
                )
                pdf = last.invoice_pdf_report_id
                self.assertEqual(
                    pdfs, {pdf.name: pdf.raw}, "the last invoice of that customer"
                )
            else:
                self.assertFalse(pdfs)
        self.assertEqual(message.state, "sent")
        self.assertEqual(message.sent_count, 201)
        self.assertEqual(message.failed_count, 0)

        # a second run sends nobody anything again
        self.env["customer.message"]._cron_process()
        self.assertEqual(len(self.smtp_handler.messages), 201)

    def test_refused_then_retry(self):
        refused = self.crowd[10] | self.crowd[20]
        self.smtp_handler.refused = {email.lower() for email in refused.mapped("email")}
        message = self._mass_compose()
        with mute_logger("odoo.addons.mail.models.mail_mail"):
            self.env["customer.message"]._cron_process()
        self.assertEqual(len(self.smtp_handler.messages), 199)
        self.assertEqual(message.state, "error")
        self.assertEqual(message.failed_count, 2)
        failed = message.recipient_ids.filtered(lambda r: r.state == "error")
        self.assertEqual(failed.partner_id, refused)
        for line in failed:
            self.assertIn("550", line.failure_reason)

        self.smtp_handler.messages.clear()
        self.smtp_handler.refused.clear()
        message.action_retry_failed()
        self.env["customer.message"]._cron_process()
        self.assertEqual(
            sorted(
                rcpt for item in self.smtp_handler.messages for rcpt in item["rcpt_tos"]
            ),
            sorted(refused.mapped("email")),
            "only the failed recipients get it again",
        )
        self.assertEqual(message.state, "sent")
        self.assertEqual(message.failed_count, 0)

    def test_cancel(self):
        message = self._mass_compose()
        message.action_cancel()
        self.assertEqual(message.state, "cancelled")
        self.assertEqual(message.cancelled_count, 201)
        self.env["customer.message"]._cron_process()
        self.assertFalse(self.smtp_handler.messages)
        with self.assertRaisesRegex(UserError, "still New or Processing"):
            message.action_cancel()

    def test_cancel_while_processing(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.batch_size", "50"
        )
        message = self._mass_compose()
        message._process(limit=50)  # the cron stopped after one batch
        self.assertEqual(len(self.smtp_handler.messages), 50)
        message.action_cancel()
        self.env["customer.message"]._cron_process()
        self.assertEqual(len(self.smtp_handler.messages), 50)
        self.assertEqual(message.sent_count, 50)
        self.assertEqual(message.cancelled_count, 151)

    def test_resume_after_crash(self):
        """A crash between queuing a batch and sending it: the next run sends
        the queued emails once, and creates no other."""
        message = self._mass_compose()
        batch = message.recipient_ids.sorted("id")[:40]
        message.state = "processing"
        message._queue_batch(batch)  # ... and the worker died here
        queued = batch.mail_mail_id
        self.assertEqual(len(queued), 40)
        self.env["customer.message"]._cron_process()
        self.assertEqual(len(self.smtp_handler.messages), 201)
        delivered = [
            rcpt for item in self.smtp_handler.messages for rcpt in item["rcpt_tos"]
        ]
        self.assertEqual(len(set(delivered)), 201, "nobody got it twice")
        self.assertEqual(message.state, "sent")

    def _queue_all(self, message):
        """Render every line and queue its email, without sending."""
        message.state = "processing"
        message._queue_batch(message.recipient_ids)
        return message.recipient_ids.sorted(lambda line: line.mail_mail_id.id)

    def _delivered(self):
        return [
            rcpt for item in self.smtp_handler.messages for rcpt in item["rcpt_tos"]
        ]

    def test_odoo_queue_leaves_them_alone(self):
        """Odoo's mail queue does not send the emails of customer messages,
        which the module's cron claims before sending."""
        message = self._mass_compose()
        self._queue_all(message)
        self.env["mail.mail"].process_email_queue()
        self.assertEqual(self._delivered(), [])
        self.env["customer.message"]._cron_process()
        self.assertEqual(len(self.smtp_handler.messages), 201)
        self.assertEqual(message.state, "sent")

    def test_sending_cron(self):
        """The second cron sends the queued emails and completes the message;
        it renders nothing itself."""
        message = self._mass_compose()
        message.state = "processing"
        lines = message.recipient_ids.sorted("id")
        message._queue_batch(lines[5:])  # the first 5 are not rendered yet
        self.env["customer.message"]._cron_send_emails()
        self.assertEqual(len(self._delivered()), 196)
        self.assertEqual(set(lines[:5].mapped("state")), {"new"})
        self.assertEqual(message.state, "processing", "5 lines are still new")
        self.assertEqual(message.sent_count, 196)

        self.env["customer.message"]._cron_process()
        self.assertEqual(len(self._delivered()), 201)
        self.assertEqual(len(set(self._delivered())), 201)
        self.assertEqual(message.state, "sent")

    def test_sending_crons_triggered(self):
        """Large sends wake every active copy of the sending cron up (one
        more cron worker each), but not the cron asking."""
        sending = self.env.ref("customer_messages.ir_cron_customer_message_send")
        copy = sending.copy({"name": "Customer messages: send queued emails (2)"})
        inactive = sending.copy({"active": False})
        MailMail = self.env["mail.mail"]
        self.assertEqual(MailMail._trigger_sending_crons(), sending | copy)
        self.assertEqual(
            MailMail.with_context(cron_id=copy.id)._trigger_sending_crons(), sending
        )
        Trigger = self.env["ir.cron.trigger"].sudo()
        self.assertEqual(Trigger.search_count([("cron_id", "=", sending.id)]), 2)
        self.assertEqual(Trigger.search_count([("cron_id", "=", copy.id)]), 1)
        self.assertFalse(Trigger.search_count([("cron_id", "=", inactive.id)]))

    def test_crash_while_sending(self):
        """A worker dies after claiming a chunk of emails: they are never sent
        twice. Once the claim is an hour old, their lines fail with the
        reason, and Retry failed sends them."""
        message = self._mass_compose()
        lines = self._queue_all(message)
        claimed = lines[:30].mail_mail_id.sudo()._claim_for_sending()
        self.assertEqual(len(claimed), 30)
        # ... and the worker died here
        self.env["customer.message"]._cron_process()
        self.assertEqual(len(self.smtp_handler.messages), 171)
        self.assertEqual(
            set(lines[:30].mapped("state")),
            {"processing"},
            "another worker may still be sending them",
        )
        self.assertEqual(message.state, "processing")

        claimed.flush_recordset()
        self.env.cr.execute(
            "UPDATE mail_mail SET write_date = write_date - interval '2 hours' "
            "WHERE id = ANY(%s)",
            [claimed.ids],
        )
        claimed.invalidate_recordset(["write_date"])
        self.env["customer.message"]._cron_process()
        self.assertEqual(len(self.smtp_handler.messages), 171, "not sent again")
        self.assertEqual(set(lines[:30].mapped("state")), {"error"})
        self.assertIn("Interrupted while sending", lines[0].failure_reason)
        self.assertEqual(message.state, "error")

        message.action_retry_failed()
        self.env["customer.message"]._cron_process()
        delivered = self._delivered()
        self.assertEqual(len(delivered), 201)
        self.assertEqual(len(set(delivered)), 201, "nobody got it twice")
        self.assertEqual(message.state, "sent")

    def test_server_closes_the_session(self):
        """The SMTP server ends the session (421) at one recipient: that one
        fails with the server's answer, the emails after it in the session
        were not tried and stay queued, and the next run sends them once."""
        message = self._mass_compose()
        lines = self._queue_all(message)
        closing = lines[10]
        self.smtp_handler.closing.add(closing.email.lower())
        with mute_logger("odoo.addons.base.models.ir_mail_server"):
            lines._deliver()
        # 10 sent before it in its chunk, then the other chunks, each over a
        # session of its own
        self.assertEqual(len(self.smtp_handler.messages), 10 + 201 - SEND_CHUNK_SIZE)
        self.assertEqual(closing.state, "error")
        self.assertIn("421", closing.failure_reason)
        untried = lines[11:SEND_CHUNK_SIZE]
        self.assertEqual(set(untried.mapped("state")), {"processing"})
        self.assertEqual(set(untried.mail_mail_id.mapped("state")), {"outgoing"})

        self.env["customer.message"]._cron_process()
        delivered = self._delivered()
        self.assertEqual(len(delivered), 200)
        self.assertEqual(len(set(delivered)), 200, "nobody got it twice")
        self.assertNotIn(closing.email, delivered)
        self.assertEqual(message.state, "error")
        self.assertEqual(message.sent_count, 200)

    def test_history_filters(self):
        message = self._mass_compose()
        History = self.env["customer.message"]
        self.assertIn(message, History.search([("state", "=", "new")]))
        with self.assertRaisesRegex(UserError, "kept for the history"):
            message.with_user(self.user_manager).unlink()
        message.action_remove()
        self.assertEqual(message.state, "removed")
        self.assertNotIn(message, History.search([("state", "!=", "removed")]))
        self.assertEqual(set(message.recipient_ids.mapped("state")), {"removed"})


@tagged("customer_messages", "post_install", "-at_install")
class TestComposerTour(HttpCase, SendingCase):
    def test_composer_tour(self):
        self.start_tour("/odoo", "customer_messages_composer", login="cm_user")
        message = self.env["customer.message"].search(
            [("subject", "=", "Planned maintenance")]
        )
        self.assertEqual(message.state, "sent")
        self.assertEqual(message.recipient_ids.partner_id, self.alice | self.bob)
        self.assertEqual(len(self.smtp_handler.messages), 2)
