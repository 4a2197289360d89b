from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import HttpCase, JsonRpcException, tagged
from odoo.tools import mute_logger

from .common import FakeGateway
from .incident.test_incidents import IncidentCase

THRESHOLD = "customer_messages.approval_threshold"


class SetupCase(IncidentCase):
    """Threshold 1: Alice and Carol (North Town) make a large send; the
    Service / outages category requires approval, as installed."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["ir.config_parameter"].sudo().set_param(THRESHOLD, "1")
        cls.service = cls.env.ref("customer_messages.customer_message_category_service")
        cls.service.requires_approval = True
        cls.admin = cls.env.ref("base.user_admin")

    def _schedule_values(self, **values):
        return {
            "name": "Weekly notice",
            "subject": "Notice for {{ object.name }}",
            "body_html": "<p>Dear {{ object.name }}</p>",
            "channel": "email",
            "recipient_domain": repr([("location_id", "=", self.location_north.id)]),
            "interval_type": "days",
            "interval_number": 7,
            "tz": "UTC",
            **values,
        }

    def _schedule(self, user, **values):
        """A schedule created by ``user``, in the test's (superuser's)
        environment, as the scheduler sees it."""
        return (
            self.env["customer.message.schedule"]
            .with_user(user)
            .create(self._schedule_values(**values))
            .with_env(self.env)
        )

    def _run_schedules(self):
        self.env["customer.message.schedule"]._cron_run_schedules()
        self.env["customer.message"]._cron_process()

    def _maintenance(self, user):
        start = fields.Datetime.now() + timedelta(hours=1)
        incident = self._incident(
            user=user,
            name="Router upgrade",
            kind="maintenance",
            date_start=start,
            notify_hours=2,
        )
        incident.action_schedule_notice()
        return incident


@tagged("customer_messages", "post_install", "-at_install")
class TestSetupApproval(SetupCase):
    """Approval depends on who set a send up, never on the process that
    runs it (issue 14, items 1 and 2)."""

    def test_plain_user_schedule_waits(self):
        schedule = self._schedule(self.user_sender)
        self.assertEqual(schedule.configured_uid, self.user_sender)
        # the reported path: the next run written in the past
        schedule.with_user(self.user_sender).next_run = fields.Datetime.now() - (
            timedelta(hours=1)
        )
        self._run_schedules()
        run = schedule.message_ids
        self.assertEqual(run.origin, "automated")
        self.assertEqual(run.configured_uid, self.user_sender)
        self.assertEqual(run.state, "to_approve")
        self.assertFalse(self.received("alice@example.com"), "nothing before approval")
        run.with_user(self.user_manager).action_approve()
        self.env["customer.message"]._cron_process()
        self.assertEqual(run.state, "sent")
        self.assertEqual(len(self.received("alice@example.com")), 1)

    def test_manager_schedule_goes(self):
        schedule = self._schedule(self.user_manager)
        schedule.next_run = fields.Datetime.now() - timedelta(hours=1)
        self._run_schedules()
        self.assertEqual(schedule.message_ids.state, "sent")
        self.assertEqual(schedule.message_ids.author_id, self.user_manager)
        self.assertEqual(len(self.received("carol@example.com")), 1)

    def test_plain_user_edit_of_a_manager_schedule_waits(self):
        schedule = self._schedule(self.user_manager)
        copy = schedule.with_user(self.user_sender).copy()
        self.assertEqual((copy.user_id, copy.configured_uid), (self.user_sender,) * 2)
        # the recorded configurer is the system's: a user cannot name another
        schedule.with_user(self.user_sender).write(
            {"subject": "Changed", "configured_uid": self.user_manager.id}
        )
        self.assertEqual(schedule.configured_uid, self.user_sender)
        self.assertEqual(schedule.user_id, self.user_sender, "now his schedule")
        # the scheduler moving the next run changes nothing
        schedule.next_run = fields.Datetime.now() - timedelta(hours=1)
        self.assertEqual(schedule.configured_uid, self.user_sender)
        self._run_schedules()
        self.assertEqual(schedule.message_ids.state, "to_approve")
        self.assertEqual(schedule.message_ids.author_id, self.user_sender)

    def test_plain_user_scheduled_notice_waits(self):
        incident = self._maintenance(self.user_sender)
        self.assertEqual(incident.configured_uid, self.user_sender)
        self._run_cron()
        notices = incident.notice_message_ids
        self.assertEqual(len(notices), 2)
        self.assertEqual(set(notices.mapped("origin")), {"automated"})
        self.assertEqual(notices.category_id, self.service)
        self.assertEqual(set(notices.mapped("state")), {"to_approve"})
        self.assertFalse(
            FakeGateway.received or self.received("alice@example.com"),
            "no SMS, no email before approval",
        )
        notices.with_user(self.user_manager).action_approve()
        self.env["customer.message"]._cron_process()
        self.assertEqual(len(self.received("alice@example.com")), 1)

    def test_manager_scheduled_notice_goes(self):
        incident = self._maintenance(self.user_manager)
        self._run_cron()
        notices = incident.notice_message_ids
        self.assertEqual(notices.category_id, self.service)
        self.assertEqual(set(notices.mapped("state")), {"new"}, "not held")
        # recorded by the incident cron, sent by the processing cron
        self.env["customer.message"]._cron_process()
        self.assertEqual(set(notices.mapped("state")), {"sent"})
        self.assertEqual(notices.author_id, self.user_manager)
        self.assertEqual(self.arrivals, ["sms", "sms", "email", "email"])

    def test_notice_sent_by_a_click(self):
        """A notice sent by a click is its sender's: a plain user's waits, a
        manager's goes at once (urgent outages)."""
        notices = self._incident(user=self.user_sender)._send_first_notice()
        self.assertEqual(notices.category_id, self.service)
        self.assertEqual(set(notices.mapped("state")), {"to_approve"})
        self.assertFalse(FakeGateway.received or self.received("alice@example.com"))
        incident = self._incident(user=self.user_manager, name="Cut")
        self.assertEqual(set(incident._send_first_notice().mapped("state")), {"sent"})

    def test_notices_follow_the_category(self):
        """Consent and quiet hours apply to notices as to any message of the
        Service / outages category."""
        self.service.requires_approval = False
        self.env["ir.config_parameter"].sudo().set_param(THRESHOLD, "0")
        self.env["customer.message.preference"].create(
            {
                "partner_id": self.carol.id,
                "category_id": self.service.id,
                "channel": "email",
                "opted_out": True,
            }
        )
        # quiet hours for SMS now, in the customers' time zone
        (self.alice | self.carol).tz = "UTC"
        hour = fields.Datetime.now().hour
        self.env["customer.message.quiet.hours"].create(
            {
                "channel": "sms",
                "start_hour": (hour - 1) % 24,
                "end_hour": (hour + 2) % 24,
            }
        )
        incident = self._incident(user=self.user_sender)
        sms, mail = incident._send_first_notice().sorted("id")
        self.assertEqual((sms | mail).category_id, self.service)
        carol = mail.recipient_ids.filtered(lambda r: r.partner_id == self.carol)
        self.assertEqual(carol.state, "cancelled", "she opted out of outages by email")
        self.assertIn("opted out", carol.failure_reason)
        self.assertFalse(self.received("carol@example.com"))
        self.assertEqual(len(self.received("alice@example.com")), 1)
        self.assertFalse(FakeGateway.received, "the SMS wait for the quiet hours' end")
        self.assertEqual(set(sms.recipient_ids.mapped("state")), {"new"})

    def test_direct_automated_send_of_a_user_waits(self):
        """Code run by a plain user sends as set up by him, whatever origin it
        claims; the system's own code and what a manager set up go."""
        Message = self.env["customer.message"]
        values = {"subject": "Rule", "body_html": "<p>x</p>", "origin": "automated"}
        customers = self.alice | self.carol
        held = Message.with_user(self.user_sender)._send_to_customers(customers, values)
        self.assertEqual(held.configured_uid, self.user_sender)
        self.assertEqual(held.state, "to_approve")
        self.assertEqual(Message._send_to_customers(customers, values).state, "sent")
        # an automation firing in a plain user's transaction (sudo), set up
        # by an administrator: goes
        action = (
            self.env["ir.actions.server"]
            .with_user(self.admin)
            .create(
                {
                    "name": "Welcome",
                    "model_id": self.env["ir.model"]._get_id("res.partner"),
                    "state": "customer_message",
                    "customer_message_template_id": self.env.ref(
                        "customer_messages.mail_template_customer_blocked"
                    ).id,
                }
            )
        )
        self.assertEqual(action.configured_uid, self.admin)
        message = (
            action.with_user(self.user_sender)
            .sudo()
            ._send_customer_message_for_records(customers)
        )
        self.assertEqual(message.configured_uid, self.admin)
        # not held: queued for the processing cron (the click answers at once)
        self.assertEqual(message.state, "new")

    def test_rules_and_server_actions_are_managers_only(self):
        rule = (
            self.env["customer.message.rule"]
            .with_user(self.user_manager)
            .create({"name": "Due", "tz": "UTC"})
        )
        self.assertEqual(rule.configured_uid, self.user_manager)
        with self.assertRaises(AccessError):
            rule.with_user(self.user_sender).write({"name": "Mine"})
        with self.assertRaises(AccessError):
            self.env["customer.message.rule"].with_user(self.user_sender).create(
                {"name": "Mine", "tz": "UTC"}
            )
        for model in ("ir.actions.server", "base.automation"):
            with self.assertRaises(AccessError):
                self.env[model].with_user(self.user_sender).check_access("create")
            with self.assertRaises(AccessError):
                self.env[model].with_user(self.user_manager).check_access("write")


@tagged("customer_messages", "post_install", "-at_install")
class TestSetupInput(HttpCase, SetupCase):
    """A plain user's schedules and incidents are his (items 4), and bad
    numbers or time zones are refused with a clear error (item 15), over
    RPC as in the ORM."""

    def _call(self, model, method, *args):
        return self.make_jsonrpc_request(
            f"/web/dataset/call_kw/{model}/{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": {}},
        )

    def test_responsible_is_the_plain_user(self):
        self.authenticate("cm_sender", "cm_sender")
        for model in ("customer.message.schedule", "customer.incident"):
            values = (
                self._schedule_values()
                if model == "customer.message.schedule"
                else {
                    "name": "Cut",
                    "location_ids": [Command.set(self.location_north.ids)],
                }
            )
            with (
                mute_logger("odoo.http"),
                self.assertRaisesRegex(JsonRpcException, "AccessError"),
            ):
                self._call(model, "create", {**values, "user_id": self.admin.id})
            (record_id,) = self._call(model, "create", [values])
            record = self.env[model].browse(record_id)
            self.assertEqual(record.user_id, self.user_sender)
            self.assertEqual(record.configured_uid, self.user_sender)
            with (
                mute_logger("odoo.http"),
                self.assertRaisesRegex(JsonRpcException, "AccessError"),
            ):
                self._call(model, "write", [record_id], {"user_id": self.admin.id})
            self._call(model, "write", [record_id], {"configured_uid": self.admin.id})
            self.assertEqual(record.user_id, self.user_sender)
            self.assertEqual(record.configured_uid, self.user_sender)
        # a manager names someone else: the runs are in that one's name
        schedule = self._schedule(self.user_manager, user_id=self.user_sender.id)
        self.assertEqual(schedule.user_id, self.user_sender)
        self.assertEqual(schedule.configured_uid, self.user_manager)
        schedule.next_run = fields.Datetime.now() - timedelta(hours=1)
        self._run_schedules()
        self.assertEqual(schedule.message_ids.author_id, self.user_sender)
        self.assertEqual(schedule.message_ids.state, "sent", "set up by a manager")

    def test_numbers_and_time_zones(self):
        self.authenticate("cm_sender", "cm_sender")
        schedule_model = "customer.message.schedule"
        bad = [
            (schedule_model, self._schedule_values(interval_number=2**40)),
            (schedule_model, self._schedule_values(interval_number=2**31 - 1)),
            (schedule_model, self._schedule_values(month_day=2**40)),
            (schedule_model, self._schedule_values(tz="Mars/Olympus")),
            ("customer.incident", {"name": "Cut", "notify_hours": 2**40}),
            ("customer.incident", {"name": "Cut", "tz": "Mars/Olympus"}),
        ]
        for model, values in bad:
            with (
                self.subTest(values=values),
                mute_logger("odoo.http"),
                self.assertRaisesRegex(JsonRpcException, "ValidationError"),
            ):
                self._call(model, "create", values)
        # the same values are refused on write; the sensible ones accepted
        (schedule_id,) = self._call(
            schedule_model,
            "create",
            [self._schedule_values(interval_number=3660, tz="Europe/Brussels")],
        )
        for values in ({"interval_number": 2**40}, {"tz": "Mars/Olympus"}):
            with (
                self.subTest(values=values),
                mute_logger("odoo.http"),
                self.assertRaisesRegex(JsonRpcException, "ValidationError"),
            ):
                self._call(schedule_model, "write", [schedule_id], values)
        schedule = self.env[schedule_model].browse(schedule_id)
        self.assertEqual(
            (schedule.interval_number, schedule.tz), (3660, "Europe/Brussels")
        )
        incident = self._incident(
            user=self.user_sender, kind="maintenance", notify_hours=8760
        )
        self.assertEqual(incident.notify_hours, 8760)
        with self.assertRaises(ValidationError):
            incident.tz = "Mars/Olympus"
        # reminder rules (managers'): the same checks
        Rule = self.env["customer.message.rule"].with_user(self.user_manager)
        with self.assertRaises(ValidationError):
            Rule.create({"name": "Due", "tz": "Mars/Olympus"})
        with self.assertRaises(ValidationError):
            Rule.create({"name": "Due", "catch_up_days": 2**40})
        self.assertEqual(
            Rule.create({"name": "Due", "tz": "Asia/Tokyo"}).tz, "Asia/Tokyo"
        )
