from datetime import timedelta
from unittest.mock import patch

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, JsonRpcException, freeze_time, new_test_user, tagged
from odoo.tools import mute_logger

from .common import FakeGateway
from .incident.test_incidents import IncidentCase

PROCESS_CRON = "customer_messages.ir_cron_customer_message_process"


@tagged("customer_messages", "post_install", "-at_install")
class TestHistoryTruth(HttpCase, IncidentCase):
    """What the history and the incidents show is what the system did: a
    message is recorded by the sending path only, an incident's audience and
    state follow from its scope and its actions, an idempotency key is its
    company's and its sending record's, and the scheduled notices' cron
    commits nothing inside a savepoint. Attacks come over JSON-RPC, as the
    least-privileged users concerned."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_company = cls.env["res.company"].create({"name": "Other ISP"})
        cls.other_user = new_test_user(
            cls.env,
            login="cm_other_sender",
            groups="base.group_user,customer_messages.customer_messages_group_user",
            company_id=cls.other_company.id,
            company_ids=[Command.set(cls.other_company.ids)],
        )
        cls.other_customer = cls._create_customer(
            "Far Customer",
            email="far@example.com",
            phone="+32 470 99 99 99",
            country_id=cls.env.ref("base.be").id,
            company_id=cls.other_company.id,
        )
        # a Messages / User who may also edit contacts
        cls.user_contacts = new_test_user(
            cls.env,
            login="cm_contacts",
            groups="base.group_user,base.group_partner_manager,"
            "customer_messages.customer_messages_group_user",
        )

    def _rpc(self, login, model, method, *args, **kwargs):
        self.authenticate(login, login)
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def _assert_rpc_refused(self, login, model, method, *args, **kwargs):
        with (
            mute_logger("odoo.http"),
            self.assertRaises(JsonRpcException) as caught,
        ):
            self._rpc(login, model, method, *args, **kwargs)
        self.assertIn("AccessError", str(caught.exception))

    # 3. A message in the history is one the sending path recorded ---------

    def test_rpc_create_of_a_sent_message_refused(self):
        forged = {
            "subject": "Your refund was sent",
            "channel": "email",
            "state": "sent",
            "origin": "automated",
            "origin_ref": "Billing run",
            "author_id": self.env.ref("base.user_admin").id,
            "approved_uid": self.env.ref("base.user_admin").id,
            "idempotency_key": "refund-1",
        }
        for login in ("cm_sender", "cm_manager"):
            with self.subTest(login=login):
                self._assert_rpc_refused(login, "customer.message", "create", forged)
                self._assert_rpc_refused(
                    login,
                    "customer.message",
                    "web_save",
                    [],
                    forged,
                    specification={},
                )
        Message = self.env["customer.message"]
        self.assertFalse(Message.search([("subject", "=", forged["subject"])]))
        # nor copied from a message sent for real
        sent = Message.with_user(self.user_sender)._send_to_customers(
            self.alice, {"subject": "Real notice", "channel": "email"}
        )
        self.assertEqual(sent.state, "sent")
        self._assert_rpc_refused("cm_sender", "customer.message", "copy", sent.id)
        self.assertEqual(Message.search_count([("subject", "=", "Real notice")]), 1)

    def test_composer_context_defaults_never_reach_the_history(self):
        """The composer sends over RPC with a context full of defaults for
        the message: the history shows what the sending path recorded."""
        admin = self.env.ref("base.user_admin")
        (composer,) = self._rpc(
            "cm_sender",
            "customer.message.composer",
            "web_save",
            [],
            {"mode": "single", "partner_id": self.alice.id, "subject": "Hi"},
            specification={},
        )
        context = {
            "default_state": "sent",
            "default_origin": "automated",
            "default_origin_ref": "Billing run",
            "default_author_id": admin.id,
            "default_approved_uid": admin.id,
            "default_idempotency_key": f"incident-{self.alice.id}-notice-0-sms",
            "default_done_date": "2020-01-01 00:00:00",
        }
        action = self._rpc(
            "cm_sender",
            "customer.message.composer",
            "action_send",
            [composer["id"]],
            context=context,
        )
        message = self.env["customer.message"].browse(action["res_id"])
        self.assertEqual(message.state, "new", "handed to the cron, not sent yet")
        self.assertEqual(message.origin, "manual")
        self.assertEqual(message.author_id, self.user_sender)
        self.assertFalse(message.origin_ref)
        self.assertFalse(message.approved_uid)
        self.assertFalse(message.idempotency_key)
        self.assertFalse(message.done_date)
        # the twin: the cron sends it, and then it is Sent
        self.env["customer.message"]._cron_process()
        self.assertEqual(message.state, "sent")
        self.assertEqual(len(self.received("alice@example.com")), 1)

    def test_sending_path_checks_as_the_real_user(self):
        """The message is made by the system, the checks run as the user:
        their company, their right to write expressions."""
        Message = self.env["customer.message"].with_user(self.user_sender)
        with self.assertRaises(AccessError):
            Message._send_to_customers(
                self.alice,
                {
                    "subject": "Theirs",
                    "channel": "email",
                    "company_id": self.other_company.id,
                },
            )
        with self.assertRaises(AccessError):
            Message._send_to_customers(
                self.alice,
                {"subject": "{{ object.sudo().write({'name': 'x'}) }}"},
            )
        self.assertFalse(
            self.env["customer.message"].search(
                [("author_id", "=", self.user_sender.id)]
            )
        )
        self.assertFalse(self.smtp_handler.messages)
        # the twin: plain placeholders of their own company's customer
        message = Message._send_to_customers(
            self.alice, {"subject": "Hello {{ object.name }}", "channel": "email"}
        )
        self.assertEqual(message.company_id, self.company)
        self.assertEqual(message.author_id, self.user_sender)
        self.assertEqual(message.state, "sent")
        (email,) = self.received("alice@example.com")
        self.assertEqual(email["Subject"], "Hello Alice Person")

    # 5. An incident's audience and state follow from its scope and actions -

    def test_rpc_write_of_audience_and_state_refused(self):
        incident = self._incident()
        for values in (
            {"audience_partner_ids": [Command.link(self.bob.id)]},
            {"state": "ongoing"},
            {"state": "resolved", "date_resolved": "2026-01-01 00:00:00"},
            {"notice_date": "2026-01-01 00:00:00"},
            {"update_count": 3, "last_update_note": "All fine"},
        ):
            with self.subTest(values=values):
                self._assert_rpc_refused(
                    "cm_sender", "customer.incident", "write", [incident.id], values
                )
        # nor through the customer's side of the audience
        self._assert_rpc_refused(
            "cm_contacts",
            "res.partner",
            "write",
            [self.bob.id],
            {"customer_incident_ids": [Command.link(incident.id)]},
        )
        # nor at creation, in the values or in the context's defaults
        self._assert_rpc_refused(
            "cm_sender",
            "customer.incident",
            "create",
            {
                "name": "Fake",
                "state": "ongoing",
                "location_ids": [self.location_north.id],
            },
        )
        created = self._rpc(
            "cm_sender",
            "customer.incident",
            "create",
            {"name": "Drafted", "location_ids": [self.location_north.id]},
            context={
                "default_state": "resolved",
                "default_audience_partner_ids": [self.bob.id],
            },
        )
        drafted = self.env["customer.incident"].browse(created)
        self.assertEqual(drafted.state, "draft")
        self.assertFalse(drafted.audience_partner_ids)
        incident.invalidate_recordset()
        self.assertEqual(incident.state, "draft")
        self.assertFalse(incident.audience_partner_ids)
        self.assertFalse(incident.notice_date)

        # the twin: the incident's actions, over RPC as the same user
        self._rpc("cm_sender", "customer.incident", "action_send_notice", [incident.id])
        incident.invalidate_recordset()
        self.assertEqual(incident.state, "ongoing")
        self.assertEqual(incident.audience_partner_ids, self.alice | self.carol)
        self.assertEqual(len(incident.notice_message_ids), 2)
        self.assertEqual(self.sms_numbers(), ["+32470112233", "+32470123456"])
        self._rpc(
            "cm_sender", "customer.incident", "action_send_resolved", [incident.id]
        )
        incident.invalidate_recordset()
        self.assertEqual(incident.state, "resolved")
        self.assertTrue(incident.date_resolved)

    # 6. A key is its company's and its sending record's ---------------------

    def test_keys_of_another_company_or_record_never_suppress_a_send(self):
        incident = self._incident()
        key = f"incident-{incident.id}-notice-0-sms"
        # another company's code sends with the incident's key
        theirs = (
            self.env["customer.message"]
            .with_user(self.other_user)
            ._send_to_customers(
                self.other_customer, {"subject": "Far", "channel": "sms"}, key=key
            )
        )
        self.assertEqual(theirs.company_id, self.other_company)
        # our own integration code sends with it too (no sending record)
        Message = self.env["customer.message"].with_user(self.user_sender)
        code = {"subject": "Code", "channel": "email"}
        ours = Message._send_to_customers(self.bob, code, key=key)
        self.assertNotEqual(ours, theirs)
        # a company's code with the same key again: its own first message
        again = Message._send_to_customers(self.alice, code, key=key)
        self.assertEqual(again, ours)
        self.assertFalse(self.received("alice@example.com"))
        FakeGateway.received.clear()
        self.arrivals.clear()

        incident.action_send_notice()
        sms, mail = incident.notice_message_ids.sorted("id")
        self.assertNotIn(sms, theirs | ours, "the incident's own notice")
        self.assertEqual((sms.channel, sms.idempotency_key), ("sms", key))
        self.assertEqual(sms.state, "sent")
        self.assertEqual(self.sms_numbers(), ["+32470112233", "+32470123456"])
        self.assertEqual(self.arrivals, ["sms", "sms", "email", "email"])
        self.assertEqual(incident.state, "ongoing")
        # the incident's own key still returns its own notice
        self.assertEqual(incident._send_notice("notice"), sms | mail)
        self.assertEqual(len(FakeGateway.received), 2)

    def test_keys_cannot_be_planted_over_rpc(self):
        incident = self._incident()
        self._assert_rpc_refused(
            "cm_other_sender",
            "customer.message",
            "create",
            {
                "subject": "Planted",
                "channel": "sms",
                "idempotency_key": f"incident-{incident.id}-notice-0-sms",
            },
        )
        incident.action_send_notice()
        self.assertEqual(len(incident.notice_message_ids), 2)
        self.assertEqual(self.sms_numbers(), ["+32470112233", "+32470123456"])

    # 13. The scheduled notices' cron, committing as it does in production ---

    def test_scheduled_notice_cron_with_real_commits(self):
        now = fields.Datetime.now().replace(microsecond=0)
        start = now + timedelta(hours=5)
        incident = self._incident(
            name="Router upgrade",
            kind="maintenance",
            date_start=start,
            notify_hours=2,
        )
        incident.action_schedule_notice()
        Message = type(self.env["customer.message"])
        # the crons commit as they go, as outside tests (the test cursor
        # turns each commit into the release of its savepoint)
        self.startPatcher(patch.object(Message, "_auto_commit", lambda self: True))
        with freeze_time(start - timedelta(hours=1), tick=True):
            self._run_cron()
            incident.invalidate_recordset()
            self.assertEqual(incident.state, "announced")
            self.assertTrue(incident.notice_date)
            sms, mail = incident.notice_message_ids.sorted("id")
            self.assertEqual((sms | mail).mapped("state"), ["new", "new"])
            # the processing cron sends them, SMS first
            with self.enter_registry_test_mode():
                result = self.env.ref(PROCESS_CRON).method_direct_trigger()
            self.assertIs(result, True, f"the cron failed: {result}")
        (sms | mail).invalidate_recordset()
        self.assertEqual((sms | mail).mapped("state"), ["sent", "sent"])
        self.assertEqual(self.arrivals, ["sms", "sms", "email", "email"])
        # run again: nothing more
        with freeze_time(start - timedelta(minutes=30), tick=True):
            self._run_cron()
        self.assertEqual(len(incident.notice_message_ids), 2)
        self.assertEqual(len(FakeGateway.received), 2)
