from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, new_test_user, tagged

from ..common import SendingCase


@tagged("customer_messages", "at_install")
class TestAudit(SendingCase):
    """The history says which version of its template a message was sent
    with, to managers, whatever becomes of the template."""

    def _send(self, **values):
        return (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.alice,
                {"template_id": self.template.id, "channel": "email", **values},
            )
            .with_user(self.user_manager)
        )

    def test_template_edited_after_sending(self):
        version_date = self.template.write_date
        message = self._send()
        line = message.recipient_ids
        self.assertEqual(message.state, "sent")
        self.assertTrue(message.template_version)
        self.assertEqual(message.template_version_date, version_date)
        self.assertEqual(message.template_version_name, "Service notice")
        self.assertTrue(message.is_template_text)
        self.assertFalse(message.is_template_changed)
        self.assertFalse(message.template_version_subject, "the message's own")
        version = message.template_version

        self.template.write(
            {
                "name": "Service notice (2026)",
                "subject": "New notice for {{ object.name }}",
                "body_html": "<p>Something else entirely.</p>",
            }
        )
        message.invalidate_recordset()
        self.assertEqual(message.subject, "Notice for {{ object.name }}")
        self.assertIn("your login is", message.body_html)
        self.assertEqual(line.subject, "Notice for Alice Person")
        self.assertEqual(message.template_version, version)
        self.assertEqual(message.template_version_date, version_date)
        self.assertEqual(message.template_version_name, "Service notice")
        self.assertTrue(message.is_template_changed)
        # a message sent now has the new version
        again = self._send()
        self.assertNotEqual(again.template_version, version)
        self.assertFalse(again.is_template_changed)
        # the template deleted: its name and version stay
        self.template.unlink()
        message.invalidate_recordset()
        self.assertFalse(message.template_id)
        self.assertEqual(message.template_version_name, "Service notice")
        self.assertEqual(message.template_version, version)
        self.assertFalse(message.is_template_changed)

    def test_translation_is_a_new_version(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        message = self._send()
        self.template.with_context(lang="fr_FR").subject = "Avis pour {{ object.name }}"
        message.invalidate_recordset()
        self.assertTrue(message.is_template_changed)

    def test_edited_text_kept_beside_the_template(self):
        message = self._send(
            subject="Urgent: {{ object.name }}", body_html=self.template.body_html
        )
        self.assertFalse(message.is_template_text)
        self.assertEqual(message.subject, "Urgent: {{ object.name }}")
        self.assertEqual(
            message.template_version_subject, "Notice for {{ object.name }}"
        )
        self.assertFalse(
            message.template_version_body_html, "the body was the template's"
        )
        self.assertFalse(message.template_version_sms_body, "not sent by SMS")

    def test_audit_is_for_managers(self):
        message = self._send()
        as_user = message.with_user(self.user_sender)
        self.assertEqual(as_user.author_id, self.user_sender)
        for fname in (
            "template_version",
            "template_version_subject",
            "is_template_changed",
        ):
            with self.assertRaises(AccessError):
                as_user.read([fname])
        self.assertTrue(message.read(["template_version"])[0]["template_version"])

        def form_arch(user):
            views = (
                self.env["customer.message"]
                .with_user(user)
                .get_views([(False, "form")])
            )
            return views["views"]["form"]["arch"]

        self.assertNotIn('name="audit"', form_arch(self.user_sender))
        arch = form_arch(self.user_manager)
        self.assertIn('name="audit"', arch)
        self.assertIn('name="template_version"', arch)


@tagged("customer_messages", "at_install")
class TestErasure(SendingCase):
    """Erasing a customer's data keeps the history whole: the lines stay,
    with their status, and lose what ties them to the person."""

    def _email_message(self, partners, subject="Outage tonight"):
        return (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                partners,
                {
                    "subject": subject,
                    "body_html": "<p>Hi {{ object.name }}</p>",
                    "channel": "email",
                },
            )
            .sudo()
        )

    def test_deleting_the_customer_keeps_the_history(self):
        message = self._email_message(self.alice | self.bob)
        line = message.recipient_ids.filtered(lambda r: r.partner_id == self.alice)
        self.assertEqual(line.subject, "Outage tonight")
        self.assertEqual(message.sent_count, 2)

        self.alice.with_user(self.user_sender).unlink()
        self.assertTrue(line.exists())
        self.assertFalse(line.partner_id)
        self.assertTrue(line.erased_date)
        self.assertEqual(line.state, "sent")
        self.assertFalse(line.body_html)
        self.assertEqual(line.display_name, f"Outage tonight - erased-{line.id}")
        message.invalidate_recordset()
        self.assertEqual(message.sent_count, 2)
        self.assertEqual(message.state, "sent")
        bob_line = message.recipient_ids - line
        self.assertEqual(bob_line.partner_id, self.bob)
        self.assertFalse(bob_line.erased_date)
        self.assertIn("Bob Company", bob_line.body_html)
        # an erased line goes to nobody again
        line.state = "error"
        message.invalidate_recordset()
        with self.assertRaisesRegex(
            UserError, "No recipient of these messages has failed"
        ):
            message.with_user(self.user_sender).action_retry_failed()

    def test_customer_waiting_in_a_large_message_gets_no_line(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.creation_batch_size", "1"
        )
        carol = self._create_customer("Carol Person", email="carol@example.com")
        first = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.alice,
                {
                    "subject": "First",
                    "channel": "email",
                    "recipient_filter": f"Customer ID {self.alice.id} (Alice Person)",
                },
            )
            .sudo()
        )
        large = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.bob | self.alice | carol,
                {"subject": "Large", "channel": "portal"},
                process="cron",
            )
            .sudo()
        )
        self.assertEqual(large.pending_count, 3, "no line made yet")
        large._create_pending_recipients(limit=1)
        self.assertEqual(large.recipient_ids.partner_id, self.bob)

        first.recipient_ids._pseudonymize_personal_data(self.alice)
        # the one customer's name leaves the filter of a message to her alone
        self.assertEqual(
            first.recipient_filter,
            f"Customer ID {self.alice.id} (erased-{first.recipient_ids.id})",
        )
        large.invalidate_recordset()
        self.assertEqual(large.pending_count, 1, "Carol only")
        large._create_pending_recipients()
        self.assertEqual(large.recipient_ids.partner_id, self.bob | carol)
        self.assertFalse(large.pending_partner_list)


@tagged("customer_messages", "post_install", "-at_install")
class TestPrivacyLookup(HttpCase, SendingCase):
    """Odoo's privacy lookup finds a customer's lines in the history, and
    its Delete pseudonymises them; the customer can then be deleted, and the
    portal shows them nothing any more."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.erin = cls._create_customer(
            "Erin Erasure",
            customer_login="erin",
            email="erin@example.com",
            phone="+32470123456",
        )
        cls.portal_erin = new_test_user(
            cls.env,
            login="portal_erin",
            groups="base.group_portal",
            partner_id=cls.erin.id,
            name=cls.erin.name,
            email=cls.erin.email,
            context={"no_reset_password": True},
        )
        cls.admin = cls.env.ref("base.user_admin")

    def _send(self, channel, subject):
        return (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.erin | self.bob,
                {
                    "subject": subject,
                    "body_html": "<p>Dear {{ object.name }}, "
                    "login {{ object.customer_login }}</p>",
                    "channel": channel,
                },
            )
            .sudo()
        )

    @staticmethod
    def _found(wizard, model):
        """The lookup's lines of one model."""
        return wizard.line_ids.filtered(lambda line: line.res_model == model)

    def _lookup(self, name, email):
        wizard = (
            self.env["privacy.lookup.wizard"]
            .with_user(self.admin)
            .create({"name": name, "email": email})
        )
        wizard.action_lookup()
        return wizard

    def test_lookup_and_erase(self):
        self.smtp_handler.refused.add("erin@example.com")
        emailed = self._send("email", "Your invoice")
        published = self._send("portal", "Outage tonight")
        erin_lines = (emailed | published).recipient_ids.filtered(
            lambda r: r.partner_id == self.erin
        )
        bob_lines = (emailed | published).recipient_ids - erin_lines
        emailed_line = erin_lines.filtered(lambda r: r.message_id == emailed)
        self.assertEqual(emailed_line.state, "error")
        self.assertIn("erin@example.com", emailed_line.failure_reason)
        self.assertEqual(len(self.received("bob@example.com")), 1)
        counts = [
            (m.sent_count, m.failed_count, m.recipient_count)
            for m in emailed | published
        ]
        # Bob has no portal login: his portal message is cancelled
        self.assertEqual(counts, [(1, 1, 2), (1, 0, 2)])

        # the customer reads the portal message, and has its link
        published_line = erin_lines - emailed_line
        token = published_line._portal_ensure_token()
        self.authenticate("portal_erin", "portal_erin")
        self.assertIn("Outage tonight", self.url_open("/my/messages").text)
        self.assertIn("login erin", self.url_open(published_line.access_url).text)

        wizard = self._lookup("Erin Erasure", "erin@example.com")
        found = self._found(wizard, "customer.message.recipient")
        self.assertEqual(sorted(found.mapped("res_id")), sorted(erin_lines.ids))
        self.assertTrue(self._found(wizard, "res.partner"))

        found.action_unlink_all()  # the list's Delete Selection
        self.assertTrue(all(found.mapped("is_unlinked")))
        for line in erin_lines:
            self.assertIn(
                f"Pseudonymised Customer Message Recipient #{line.id}",
                wizard.execution_details,
            )
        self.assertEqual(wizard.log_id.execution_details, wizard.execution_details)
        self.assertEqual(wizard.log_id.anonymized_name, "E*** E******")

        self.assertEqual(len(erin_lines.exists()), 2)
        for line in erin_lines:
            self.assertFalse(line.partner_id)
            self.assertTrue(line.erased_date)
            self.assertFalse(line.subject)
            self.assertFalse(line.body_html)
            self.assertFalse(line.access_token)
            self.assertFalse(line.portal_message_id)
        self.assertEqual(emailed_line.email, f"erased-{emailed_line.id}")
        self.assertEqual(emailed_line.phone, f"erased-{emailed_line.id}")
        self.assertEqual(emailed_line.state, "error")
        self.assertNotIn("erin@example.com", emailed_line.failure_reason)
        self.assertIn(f"erased-{emailed_line.id}", emailed_line.failure_reason)
        self.assertFalse(emailed_line.mail_mail_id)
        self.assertFalse(
            self.env["mail.mail"].search(
                [("customer_message_recipient_id", "in", erin_lines.ids)]
            )
        )
        self.assertEqual(published_line.state, "sent")
        (emailed | published).invalidate_recordset()
        self.assertEqual(
            [
                (m.sent_count, m.failed_count, m.recipient_count)
                for m in emailed | published
            ],
            counts,
        )
        self.assertEqual(bob_lines.partner_id, self.bob)
        self.assertFalse(any(bob_lines.mapped("erased_date")))

        # nothing left in the portal, by login or by the link
        page = self.url_open("/my/messages").text
        self.assertNotIn("Outage tonight", page)
        response = self.url_open(published_line.access_url)
        self.assertNotIn("login erin", response.text)
        self.logout()
        response = self.url_open(f"{published_line.access_url}?access_token={token}")
        self.assertNotIn("login erin", response.text)
        self.assertNotIn("Outage tonight", response.text)

        # the lookup finds no line of ours any more; the user and the
        # customer are deleted, the history stays
        wizard = self._lookup("Erin Erasure", "erin@example.com")
        self.assertFalse(self._found(wizard, "customer.message.recipient"))
        self._found(wizard, "res.users").action_unlink()
        self._found(wizard, "res.partner").action_unlink()
        self.assertFalse(self.erin.exists())
        self.assertEqual(len(erin_lines.exists()), 2)
        (emailed | published).invalidate_recordset()
        self.assertEqual(
            [
                (m.sent_count, m.failed_count, m.recipient_count)
                for m in emailed | published
            ],
            counts,
        )

    def test_billing_contact_erased(self):
        """The lookup of a company's billing contact: the company's line
        keeps its customer and content, loses the contact and its address."""
        contact = self.env["res.partner"].create(
            {
                "name": "Ivy Invoices",
                "email": "ivy@example.com",
                "type": "invoice",
                "parent_id": self.bob.id,
            }
        )
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.bob,
                {
                    "subject": "Your invoice",
                    "channel": "email",
                    "category_id": self.env.ref(
                        "customer_messages.customer_message_category_billing"
                    ).id,
                },
            )
            .sudo()
        )
        line = message.recipient_ids
        self.assertEqual(line.address_partner_id, contact)
        self.assertEqual(line.state, "sent")
        self.assertEqual(len(self.received("ivy@example.com")), 1)

        wizard = self._lookup("Ivy Invoices", "ivy@example.com")
        found = self._found(wizard, "customer.message.recipient")
        self.assertEqual(found.res_id, line.id)
        found.action_unlink()
        self.assertEqual(line.partner_id, self.bob)
        self.assertFalse(line.address_partner_id)
        self.assertEqual(line.email, f"erased-{line.id}")
        self.assertEqual(line.subject, "Your invoice")
        self.assertFalse(line.erased_date)
        self.assertEqual(line.state, "sent")
