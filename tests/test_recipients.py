from unittest.mock import patch

from lxml import html

from odoo.tests import Form, tagged

from ..models.customer_message_audience import CustomerMessage as AudienceMessage
from ..models.customer_message_exclusions import CustomerMessage as ExclusionsMessage
from ..wizards.customer_message_composer_recipients import EXCLUSIONS_SHOWN
from .common import SendingCase


@tagged("customer_messages", "post_install", "-at_install")
class TestExclusions(SendingCase):
    """Who cannot receive a message, counted and listed in SQL."""

    def _set_param(self, key, value):
        self.env["ir.config_parameter"].sudo().set_param(key, value)

    def test_bounced_address_excluded(self):
        bounced = self._create_customer(
            "Often Bounced", customer_login="bounced", email="bounced@example.com"
        )
        twice = self._create_customer(
            "Bounced Twice", customer_login="twice", email="twice@example.com"
        )
        bounced.message_bounce = 3
        twice.message_bounce = 2
        composer = self._compose(mode="mass", channel="email", subject="Hello")
        composer.partner_ids = self.alice | bounced | twice
        self.assertEqual(composer.recipient_count, 2, "3 bounces by default")
        self.assertEqual(composer.excluded_count, 1)
        self.assertIn("Often Bounced", composer.exclusion_summary)
        self.assertIn("email address bounced", composer.exclusion_summary)
        self.assertNotIn("Bounced Twice", composer.exclusion_summary)

        composer.action_confirm()
        message = self.env["customer.message"].browse(composer.action_send()["res_id"])
        self.env["customer.message"]._cron_process()  # the cron, woken by Send
        line = message.recipient_ids.filtered(lambda r: r.partner_id == bounced)
        self.assertEqual(line.state, "cancelled")
        self.assertEqual(line.failure_reason, "Excluded: email address bounced")
        self.assertFalse(self.received("bounced@example.com"))
        self.assertEqual(len(self.received("twice@example.com")), 1)
        self.assertEqual(twice.message_bounce, 0, "accepted: its soft bounces clear")

        twice.message_bounce = 2
        Message = self.env["customer.message"]
        self._set_param("customer_messages.bounce_limit", "2")
        self.assertEqual(
            Message._get_exclusion_reasons(bounced | twice, "email"),
            dict.fromkeys((bounced | twice).ids, "email address bounced"),
        )
        self._set_param("customer_messages.bounce_limit", "0")
        self.assertFalse(
            Message._get_exclusion_reasons(bounced | twice, "email"), "0: never"
        )
        # the portal and SMS channels do not look at bounces
        self._set_param("customer_messages.bounce_limit", "1")
        self.assertNotIn(
            "email address bounced",
            Message._get_exclusion_reasons(bounced, "portal").values(),
        )

    def test_reasons_in_order(self):
        """Each customer gets the first reason that applies, the blacklist
        and the bounce limit looked up on the normalized address."""
        Message = self.env["customer.message"]
        nomail = self._create_customer("No Mail", customer_login="nomail")
        invalid = self._create_customer(
            "Bad Mail", customer_login="bad", email="not-an-address"
        )
        two = self._create_customer(
            "Two Addresses",
            customer_login="two",
            email="one@example.com, two@example.com",
        )
        named = self._create_customer(
            "Named Address",
            customer_login="named",
            email='"Named Address" <Named@Example.com>',
        )
        banned = self._create_customer(
            "Banned", customer_login="banned", email="Banned <BANNED@example.com>"
        )
        self.env["mail.blacklist"].create({"email": "banned@example.com"})
        banned.message_bounce = 10  # blacklisted comes first
        partners = self.alice | nomail | invalid | two | named | banned
        self.assertEqual(
            Message._get_exclusion_reasons(partners, "email"),
            {
                nomail.id: "no email address",
                invalid.id: "invalid email address not-an-address",
                two.id: "invalid email address one@example.com, two@example.com",
                banned.id: "email address blacklisted",
            },
        )
        # an address taken off the blacklist counts again (archived entry)
        self.env["mail.blacklist"].search(
            [("email", "=", "banned@example.com")]
        ).active = False
        self.assertEqual(
            Message._get_exclusion_reasons(banned, "email"),
            {banned.id: "email address bounced"},
        )

        belgium = self.env.ref("base.be")
        sms_ok = self._create_customer(
            "Mobile",
            customer_login="mobile",
            phone="+32 470 12 34 56",
            country_id=belgium.id,
        )
        sms_bad = self._create_customer(
            "Short Number", customer_login="short", phone="12", country_id=belgium.id
        )
        self.assertEqual(
            Message._get_exclusion_reasons(sms_ok | sms_bad | nomail, "sms"),
            {
                sms_bad.id: "phone number 12 not usable for SMS",
                nomail.id: "no phone number",
            },
        )

    def test_exclusion_list_paged(self):
        """The composer lists the first excluded customers, in the order of
        their ids, with the total; the others are counted."""
        extra = 7
        nomail = self.env["res.partner"].create(
            [
                {
                    "name": f"Silent {index:02d}",
                    "customer_status": "active",
                    "customer_login": f"silent{index:02d}",
                }
                for index in range(EXCLUSIONS_SHOWN + extra)
            ]
        )
        composer = self._compose(mode="mass", channel="email", subject="Hello")
        composer.partner_ids = self.alice | self.bob | nomail
        self.assertEqual(composer.recipient_count, 2)
        self.assertEqual(composer.excluded_count, EXCLUSIONS_SHOWN + extra)
        self.assertEqual(composer.first_recipient_id, self.alice)
        listed = html.fromstring(composer.exclusion_summary)
        items = [item.text_content() for item in listed.iter("li")]
        self.assertEqual(
            items,
            [
                f"{partner.name} (ID {partner.id}): no email address"
                for partner in nomail.sorted("id")[:EXCLUSIONS_SHOWN]
            ],
        )
        self.assertIn(f"and {extra} more", listed.text_content())

        # each change counts once, in SQL
        summarize = ExclusionsMessage._summarize_recipients
        with patch.object(
            ExclusionsMessage,
            "_summarize_recipients",
            autospec=True,
            side_effect=summarize,
        ) as counted:
            form = Form(
                self.env["customer.message.composer"].with_user(self.user_sender)
            )
            form.mode = "mass"
            form.subject = "Hello"
            counted.reset_mock()
            form.status_active = True
            self.assertEqual(counted.call_count, 1)

        # the preview walks through the recipients only
        self.assertEqual(composer.preview_partner_id, self.alice)
        composer.action_preview_next()
        self.assertEqual(composer.preview_partner_id, self.bob)
        composer.action_preview_next()
        self.assertEqual(composer.preview_partner_id, self.alice, "round the list")
        for _step in range(3):
            composer.action_preview_previous()
        self.assertEqual(composer.preview_partner_id, self.bob)


@tagged("customer_messages", "post_install", "-at_install")
class TestRecipientBatches(SendingCase):
    """Large messages: the lines are made by the cron, batch by batch."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.crowd = cls.env["res.partner"].create(
            [
                {
                    "name": f"Batch Customer {index:03d}",
                    "customer_login": f"batch{index:03d}",
                    "customer_status": "active",
                    "email": f"batch{index:03d}@example.com",
                }
                for index in range(95)
            ]
        )
        cls.nomail = cls._create_customer("Batch No Mail", customer_login="batchnomail")
        cls.everybody = cls.crowd | cls.nomail
        cls.env["ir.config_parameter"].sudo().set_param(
            "customer_messages.creation_batch_size", "20"
        )

    def _send(self):
        composer = self._compose(mode="mass", channel="email", subject="Hello")
        composer.partner_ids = self.everybody
        self.assertEqual(composer.recipient_count, 95)
        composer.action_confirm()
        return self.env["customer.message"].browse(composer.action_send()["res_id"])

    def _lines(self, message):
        message.invalidate_recordset()
        return message.sudo().recipient_ids

    def test_lines_made_by_the_cron(self):
        message = self._send()
        self.assertEqual(message.state, "new")
        self.assertFalse(self._lines(message), "no line made by the request")
        self.assertEqual(message.recipient_count, 96)
        self.assertEqual(message.pending_count, 96)
        self.env["customer.message"]._cron_process()
        lines = self._lines(message)
        self.assertEqual(lines.partner_id, self.everybody)
        self.assertFalse(message.sudo().pending_partner_list)
        nomail_line = lines.filtered(lambda line: line.partner_id == self.nomail)
        self.assertEqual(nomail_line.state, "cancelled")
        self.assertEqual(nomail_line.failure_reason, "Excluded: no email address")
        self.assertEqual(len(self.smtp_handler.messages), 95)
        self.assertEqual(message.state, "sent")
        self.assertEqual(message.sent_count, 95)
        self.assertEqual(message.cancelled_count, 1)

    def test_resume_after_interrupted_creation(self):
        """The worker making the lines dies in a batch: the batches done
        stay, the one under way is lost, the next run makes the rest; nobody
        gets two lines or two emails."""
        message = self._send().sudo()
        self.assertEqual(message._create_pending_recipients(limit=40), 40)
        # ... committed by the cron after each batch; then the next batch
        # fails half-way (the process is killed, the connection lost)
        calls = []
        insert = AudienceMessage._insert_recipients

        def crash_in_second_batch(record, partners, cancel_reason=None):
            calls.append(partners)
            insert(record, partners, cancel_reason)
            if len(calls) == 2:
                raise ConnectionError("server closed the connection")

        with (
            patch.object(AudienceMessage, "_insert_recipients", crash_in_second_batch),
            self.assertRaises(ConnectionError),
            self.env.cr.savepoint(),
        ):
            message._create_pending_recipients()
        message.invalidate_recordset()
        self.env["customer.message.recipient"].invalidate_model()
        self.assertEqual(
            self._lines(message).partner_id,
            self.everybody.sorted("id")[:40],
            "the uncommitted batches are rolled back",
        )
        self.assertEqual(message.pending_partner_done, 40)
        # customers already on a line are picked again (as if the position
        # of their batch had been lost): a second line would be a second
        # email, their lines stay the only ones
        message.pending_partner_done = 37

        self.env["customer.message"]._cron_process()
        lines = self._lines(message)
        self.assertEqual(len(lines), 96)
        self.assertEqual(lines.partner_id, self.everybody)
        delivered = [
            rcpt for item in self.smtp_handler.messages for rcpt in item["rcpt_tos"]
        ]
        self.assertEqual(len(delivered), 95)
        self.assertEqual(len(set(delivered)), 95, "nobody got it twice")
        self.assertEqual(message.state, "sent")

    def test_cancel_before_lines_are_made(self):
        message = self._send()
        message.with_user(self.user_sender).action_cancel()
        lines = self._lines(message)
        self.assertEqual(lines.partner_id, self.everybody, "kept for the history")
        self.assertEqual(set(lines.mapped("state")), {"cancelled"})
        by_partner = {line.partner_id: line for line in lines}
        self.assertEqual(
            by_partner[self.nomail].failure_reason, "Excluded: no email address"
        )
        self.assertEqual(
            by_partner[self.crowd[0]].failure_reason, "Cancelled by Plain Sender"
        )
        self.assertEqual(message.state, "cancelled")
        self.env["customer.message"]._cron_process()
        self.assertFalse(self.smtp_handler.messages)

    def test_automation_lines_at_once(self):
        """An automation's lines carry its trigger keys: they are made at
        once, whatever their number, so that it never sends twice."""
        keys = {partner.id: f"test:{partner.id}" for partner in self.everybody}
        message = (
            self.env["customer.message"]
            .with_context(customer_messages_trigger_keys=keys)
            ._send_to_customers(
                self.everybody, {"subject": "Hello", "channel": "email"}
            )
        )
        lines = self._lines(message)
        self.assertEqual(len(lines), 96)
        self.assertEqual({line.partner_id.id: line.trigger_key for line in lines}, keys)
