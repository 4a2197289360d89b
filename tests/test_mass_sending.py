from datetime import date, timedelta

from odoo.exceptions import UserError
from odoo.tests import Form, HttpCase, tagged
from odoo.tools import mute_logger

from ..models.mail_mail_sending import SEND_CHUNK_SIZE
from .common import BrowserTour, SendingCase


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
        # a 550 suspends the address: staff checked them (else Retry failed
        # cancels them, see test_delivery_recheck.py)
        refused.action_retry_email_address()
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
        for line in failed:
            self.assertEqual(line.state, "sent")
            self.assertFalse(line.failure_reason)
            # the first failure stays in the line's history
            self.assertIn("after 1 tries: ", line.previous_failures)
            self.assertIn("550", line.previous_failures)

    def test_send_clicked_twice(self):
        """A second Send of the composition opens the message of the first
        one: no second message, every customer once."""
        composer = self._compose(
            user=self.user_messages, mode="mass", channel="email", subject="Works"
        )
        composer.location_ids = self.location_south
        first = composer.action_send()
        self.assertEqual(composer.action_send(), first)
        message = self.env["customer.message"].browse(first["res_id"])
        self.assertEqual(
            self.env["customer.message"].search_count(
                [("recipient_filter", "=", message.recipient_filter)]
            ),
            1,
        )
        self.assertEqual(len(message.recipient_ids), 201)
        self.assertEqual(len(message.recipient_ids.partner_id), 201)
        # the positive twin: another composition is another message
        other = self._compose(
            user=self.user_messages, mode="mass", channel="email", subject="Works"
        )
        other.location_ids = self.location_south
        self.assertNotEqual(other.action_send()["res_id"], message.id)

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
        # the message attaches invoices: its batches are the documents' size
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.document_batch_size", "50"
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
        lines = self._queue_all(message)
        self.env["mail.mail"].process_email_queue()
        # (on a database with demo data, Odoo's queue sends the demo's
        # emails: none reaches the customers)
        self.assertFalse(set(self._delivered()) & set(lines.mapped("email")))
        self.assertEqual(set(lines.mail_mail_id.mapped("state")), {"outgoing"})
        self.smtp_handler.messages.clear()
        self.env["customer.message"]._cron_process()
        self.assertEqual(len(self.smtp_handler.messages), 201)
        self.assertEqual(message.state, "sent")

    def test_sending_cron(self):
        """The second cron takes the new lines of a message being processed
        batch by batch (rendering them and their PDFs, as the processing cron
        does), sends the queued emails and completes the message; it leaves
        the lines not made yet to the processing cron."""
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.document_batch_size", "30"
        )
        message = self._mass_compose()
        message.state = "processing"
        lines = message.recipient_ids.sorted("id")
        message._queue_batch(lines[5:])  # the first 5 are not rendered yet
        self.env["customer.message"]._cron_send_emails()
        self.assertEqual(len(self._delivered()), 201)
        self.assertEqual(len(set(self._delivered())), 201)
        self.assertEqual(set(lines.mapped("state")), {"sent"})
        self.assertEqual(message.state, "sent")
        for customer in lines[:5].partner_id:
            (email,) = self.received(customer.email)
            self.assertEqual(email["Subject"], f"Notice for {customer.name}")

        # lines not made yet are the processing cron's
        other = self._mass_compose()
        other.write(
            {
                "state": "processing",
                "pending_partner_list": self.crowd[:3].ids,
                "pending_partner_done": 0,
            }
        )
        other.recipient_ids.unlink()
        self.env["customer.message"]._cron_send_emails()
        self.assertFalse(other.recipient_ids)
        self.env["customer.message"]._cron_process()
        self.assertEqual(other.sent_count, 3)
        self.assertEqual(other.state, "sent")

    def test_batches_of_documents(self):
        """A message attaching documents is processed in small batches, so
        that every cron worker renders PDFs; others in large ones."""
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("customer_messages.document_batch_size", "7")
        params.set_param("customer_messages.batch_size", "90")
        message = self._mass_compose()
        self.assertEqual(message._get_line_batch_size(), 7)
        self.assertEqual(message._process(limit=1), 7)
        message.invoice_policy = "none"
        self.assertEqual(message._get_line_batch_size(), 90)
        self.assertEqual(message._process(limit=1), 90)

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
        """A worker dies after claiming a chunk of emails: while its database
        connection lives, nobody else sends them; once it is gone (or the
        claim is an hour old), they go out by themselves, once each."""
        message = self._mass_compose()
        lines = self._queue_all(message)
        claimed = lines[:30].mail_mail_id.sudo()._claim_for_sending()
        self.assertEqual(len(claimed), 30)
        # ... and the worker stopped here, its connection still open
        self.env["customer.message"]._cron_process()
        self.assertEqual(len(self.smtp_handler.messages), 171)
        self.assertEqual(
            set(lines[:30].mapped("state")),
            {"processing"},
            "another worker may still be sending them",
        )
        self.assertEqual(message.state, "processing")

        # its connection is gone for 20 of them (a PID no backend has), and
        # the claim of the 10 others is two hours old
        claimed.flush_recordset()
        self.env.cr.execute(
            "UPDATE mail_mail SET customer_message_claim_pid = 2147483647 "
            "WHERE id = ANY(%s)",
            [claimed[:20].ids],
        )
        self.env.cr.execute(
            "UPDATE mail_mail SET customer_message_claim_date = "
            "customer_message_claim_date - interval '2 hours' WHERE id = ANY(%s)",
            [claimed[20:].ids],
        )
        claimed.invalidate_recordset()
        self.env["customer.message"]._cron_process()
        delivered = self._delivered()
        self.assertEqual(len(delivered), 201)
        self.assertEqual(len(set(delivered)), 201, "nobody got it twice")
        self.assertEqual(set(lines.mapped("state")), {"sent"})
        self.assertEqual(message.state, "sent")

    def test_server_closes_the_session(self):
        """The SMTP server ends the session (421) at one recipient: that one
        is deferred with the server's answer (a temporary answer), the
        emails after it in the session were not tried and go in the next
        run, once; the deferred one is delivered at its next try."""
        message = self._mass_compose()
        lines = self._queue_all(message)
        closing = lines[10]
        self.smtp_handler.closing.add(closing.email.lower())
        with mute_logger("odoo.addons.base.models.ir_mail_server"):
            lines._deliver()
        # 10 sent before it in its chunk, then the other chunks, each over a
        # session of its own
        self.assertEqual(len(self.smtp_handler.messages), 10 + 201 - SEND_CHUNK_SIZE)
        self.assertEqual(closing.state, "processing")
        self.assertEqual(closing.delivery_attempts, 1)
        self.assertIn("421", closing.last_answer)
        self.assertGreater(closing.next_try_date, closing.create_date)
        untried = lines[11:SEND_CHUNK_SIZE]
        self.assertEqual(set(untried.mapped("state")), {"processing"})
        self.assertEqual(set(untried.mail_mail_id.mapped("state")), {"outgoing"})

        self.env["customer.message"]._cron_process()
        delivered = self._delivered()
        self.assertEqual(len(delivered), 200)
        self.assertEqual(len(set(delivered)), 200, "nobody got it twice")
        self.assertNotIn(closing.email, delivered)
        self.assertEqual(message.state, "processing", "one email waits")

        # its next try comes, the server is fine again
        self.smtp_handler.closing.clear()
        closing.mail_mail_id.sudo().scheduled_date = closing.create_date
        self.env["customer.message"]._cron_process()
        delivered = self._delivered()
        self.assertEqual(len(delivered), 201)
        self.assertEqual(len(set(delivered)), 201, "nobody got it twice")
        self.assertEqual(closing.state, "sent")
        self.assertFalse(closing.next_try_date)
        self.assertEqual(message.state, "sent")

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
class TestComposerTour(BrowserTour, HttpCase, SendingCase):
    """Mass sending to every Active customer (the filter these tests tick)
    counts and lists the customers of the whole database: the contacts with
    a customer status that the tests did not make (the demo's, on a database
    with demo data) are set aside first (no status), so that the customers
    are the tests' own."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.partner"].search(
            [
                ("customer_status", "!=", False),
                ("id", "not in", (cls.alice | cls.bob).ids),
            ]
        ).customer_status = False

    def test_composer_tour(self):
        self.start_tour("/odoo", "customer_messages_composer", login="cm_user")
        message = self.env["customer.message"].search(
            [("subject", "=", "Planned maintenance")]
        )
        self.assertFalse(self.smtp_handler.messages, "Send did not wait for it")
        self.env["customer.message"]._cron_process()  # the cron, woken by Send
        self.assertEqual(message.state, "sent")
        self.assertEqual(message.recipient_ids.partner_id, self.alice | self.bob)
        self.assertEqual(len(self.smtp_handler.messages), 2)

    def test_send_test_tour(self):
        """Send test from the composer: a notification, the composition
        kept, no client error."""
        self.start_tour("/odoo", "customer_messages_send_test", login="cm_sender")
        (email,) = self.received("staff@example.com")
        self.assertEqual(email["Subject"], "Test of the notice")
        self.assertFalse(self.received("alice@example.com"))

    def test_list_them_keeps_the_composition_tour(self):
        """List them opens the recipients above the composer; closing the
        list gives back the same composition, which is then sent with all
        that was typed and attached."""
        self.env["res.partner"].create(
            {"name": "Nomail Person", "customer_status": "active"}
        )
        self.start_tour("/odoo", "customer_messages_list_them", login="cm_user")
        message = self.env["customer.message"].search(
            [("subject", "=", "Network upgrade")]
        )
        self.assertEqual(len(message), 1)
        self.assertIn("Faster lines from Monday.", message.body_html)
        self.assertEqual(message.attachment_ids.mapped("name"), ["upgrade-plan.txt"])
        self.assertEqual(
            message.recipient_ids.filtered(lambda r: r.state != "cancelled").partner_id,
            self.alice | self.bob,
        )

    def test_view_recipients_action(self):
        nomail = self.env["res.partner"].create(
            {"name": "Nomail Person", "customer_status": "active"}
        )
        composer = self._compose(
            mode="mass", channel="email", status_active=True, subject="Hi"
        )
        self.assertEqual(composer.excluded_count, 1)
        action = composer.action_view_recipients()
        self.assertEqual(action["target"], "new")
        listed = self.env["res.partner"].search(action["domain"])
        self.assertEqual(listed, self.alice | self.bob, "those counted")
        self.assertNotIn(nomail, listed)
        arch = composer.get_views([(False, "form")])["views"]["form"]["arch"]
        self.assertIn('js_class="customer_message_composer_form"', arch)

    def _create_preview_customers(self):
        return self.env["res.partner"].create(
            [
                {"name": name, "customer_status": "active", "email": email}
                for name, email in (
                    ("Carl Third", "carl@example.com"),
                    ("Dora Fourth", "dora@example.com"),
                    ("Emil Fifth", "emil@example.com"),
                    ("Nomail Person", False),
                )
            ]
        )

    def test_preview_as_tour(self):
        """The preview jumps to any recipient (only those who receive it are
        offered), and the arrows go on from there."""
        self._create_preview_customers()
        self.start_tour("/odoo", "customer_messages_preview_as", login="cm_user")

    def test_preview_as(self):
        carl, dora, emil, nomail = self._create_preview_customers()
        composer = Form(
            self.env["customer.message.composer"].with_user(self.user_sender)
        )
        composer.mode = "mass"
        composer.status_active = True
        composer.subject = "Hello {{ object.name }}"
        self.assertEqual(composer.recipient_count, 5)
        self.assertEqual(composer.preview_partner_id, self.alice)
        self.assertEqual(composer.preview_position, "1 of 5")
        # the picker offers the recipients who receive it, by name or ID
        Partner = self.env["res.partner"].with_user(self.user_sender)
        offered = Partner.search(
            [("customer_message_sendable", "=", composer.preview_partner_filter)]
        )
        self.assertEqual(offered, self.alice | self.bob | carl | dora | emil)
        self.assertNotIn(nomail, offered)
        composer.preview_partner_id = dora
        self.assertEqual(composer.preview_position, "4 of 5")
        self.assertEqual(composer.preview_subject, "Hello Dora Fourth")
        # the arrows go on from there (the form steps preview_index in
        # place, the buttons do the same on the saved composer)
        saved = composer.save()
        self.assertEqual(saved.preview_partner_id, dora)
        saved.action_preview_next()
        self.assertEqual(saved.preview_partner_id, emil)
        self.assertEqual(saved.preview_position, "5 of 5")
        saved.action_preview_next()
        self.assertEqual(saved.preview_partner_id, self.alice, "round again")
        saved.action_preview_previous()
        saved.action_preview_previous()
        self.assertEqual(saved.preview_partner_id, dora)
        # a customer who does not receive it is not previewed
        composer = Form(saved)
        composer.preview_partner_id = nomail
        self.assertEqual(composer.preview_partner_id, dora)
        # the confirmation shows the message as the first recipient gets it
        saved = composer.save()
        saved.action_confirm()
        self.assertEqual(saved.preview_partner_id, self.alice)
        self.assertEqual(saved.preview_subject, "Hello Alice Person")

    def test_preview_position_in_sql(self):
        """Where a recipient is, in a few queries whatever their number."""
        customers = self._create_preview_customers()
        Message = self.env["customer.message"]

        def position(partner):
            query = self.env["res.partner"]._search(
                [("customer_status", "=", "active")]
            )
            self.env.flush_all()
            before = self.env.cr.sql_log_count
            result = Message._get_sendable_position(query, partner, "email")
            return result, self.env.cr.sql_log_count - before

        found, queries = position(customers[1])
        self.assertEqual(found, 3, "Alice, Bob, Carl, then Dora")
        self.assertLessEqual(queries, 3)
        self.assertIsNone(position(customers[3])[0], "no email address")
        self._create_preview_customers()
        found, queries = position(customers[1])
        self.assertEqual(found, 3)
        self.assertLessEqual(queries, 3, "not one per customer")

    def test_walkthrough_tour(self):
        """Single and mass, every channel, documents, preview, confirmation:
        no technical label anywhere (NewId_..., False); the layout (no empty
        band, a bordered text with a placeholder), no customer created from
        the pickers, List them before a subject, the approval warning while
        composing, Save as template in place, the SMS counted as rendered
        while typing; then the click targets: the simplest send from
        Messages > Create in 5 clicks, and a mass send to the Active
        customers of one location, each with their last unpaid invoice, in 8
        or fewer."""
        self.env["res.partner"].create(
            {"name": "Nomail Person", "customer_status": "active"}
        )
        self._create_invoice(self.alice, 42.0, post=False)
        old_unpaid = self._create_invoice(
            self.alice, 10.0, invoice_date=date.today() - timedelta(days=40)
        )
        last_unpaid = self._create_invoice(self.alice, 20.0)
        self._pay(self._create_invoice(self.alice, 30.0))  # paid: not sent
        bob_unpaid = self._create_invoice(self.bob, 25.0)
        self.bob.location_id = self.location_north
        # her SMS are counted as she gets them
        self.alice.write(
            {"phone": "+32 470 12 34 56", "country_id": self.env.ref("base.be").id}
        )
        self.env["ir.config_parameter"].sudo().set_param("sms.endpoint", False)
        # more than one customer waits for approval: the composer warns
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.approval_threshold", 1
        )
        self.user_messages.group_ids += self.env.ref("mail.group_mail_template_editor")
        self.start_tour("/odoo", "customer_messages_walkthrough", login="cm_user")
        template = self.env["mail.template"].search([("name", "=", "Documents letter")])
        self.assertEqual(template.customer_message_proforma_policy, "last")

        simplest = self.env["customer.message"].search(
            [("subject", "=", "Works tonight")]
        )
        self.assertEqual(simplest.recipient_ids.partner_id, self.alice)
        self.assertIn("The street is closed from 8 pm.", simplest.body_html)

        mass = self.env["customer.message"].search(
            [("subject", "=", "Your last invoice is unpaid")]
        )
        self.assertEqual(mass.invoice_policy, "last_unpaid")
        self.assertEqual(mass.recipient_ids.partner_id, self.alice | self.bob)
        self.assertIn("North Town", mass.recipient_filter)
        documents = mass._get_documents(self.alice | self.bob)
        self.assertEqual(documents[self.alice][0], last_unpaid)
        self.assertNotIn(old_unpaid, documents[self.alice][0])
        self.assertEqual(documents[self.bob][0], bob_unpaid)

    def test_simplest_tour(self):
        """One customer, email, subject and text, Send: from the customer's
        form, 3 clicks (Odoo's own Send message from the chatter: 4)."""
        self.start_tour(
            f"/odoo/isp-customers/{self.alice.id}",
            "customer_messages_simplest",
            login="cm_user",
        )
        message = self.env["customer.message"].search(
            [("subject", "=", "Maintenance tonight")]
        )
        self.assertEqual(message.recipient_ids.partner_id, self.alice)
        self.assertIn("The network is down from 1 to 3 am.", message.body_html)
        self.assertEqual(message.channel, "email")
        self.env["customer.message"]._cron_process()
        (email,) = self.received("alice@example.com")
        self.assertEqual(email["Subject"], "Maintenance tonight")
