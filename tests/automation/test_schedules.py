from datetime import date, datetime, timedelta

import psycopg2.errors

from odoo import Command, fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, HttpCase, freeze_time, tagged
from odoo.tools import mute_logger

from ..common import BrowserTour, SendingCase


@tagged("customer_messages", "post_install", "-at_install")
class TestSchedules(SendingCase):
    """Recurring messages: run by their cron at their time, each run its own
    message of the customers matching then, really delivered."""

    def _schedule(self, user=None, **values):
        Schedule = self.env["customer.message.schedule"].with_user(
            user or self.user_messages
        )
        return Schedule.create(
            {
                "name": "Monthly notice",
                "subject": "Notice for {{ object.name }}",
                "body_html": "<p>Dear {{ object.name }}</p>",
                "channel": "email",
                "recipient_domain": repr(
                    [("location_id", "=", self.location_north.id)]
                ),
                "recipient_filter": "Locations: North Town",
                "interval_type": "days",
                "interval_number": 7,
                "hour": 8.0,
                "tz": "UTC",
                **values,
            }
        )

    def _run_crons(self, user=None):
        self.env["customer.message.schedule"].with_user(
            user or self.env.user
        )._cron_run_schedules()
        self.env["customer.message"]._cron_process()

    def _run_schedules(self):
        # the schedules' cron only (time frozen: no SMTP delivery)
        self.env["customer.message.schedule"]._cron_run_schedules()

    def _make_due(self, schedule, hours=1):
        schedule.next_run = fields.Datetime.now() - timedelta(hours=hours)

    def test_runs_at_its_time_and_resolves_the_filter_again(self):
        schedule = self._schedule()
        self.assertGreater(schedule.next_run, fields.Datetime.now())
        self.assertEqual(schedule.next_run.hour, 8)
        self._run_crons()
        self.assertFalse(schedule.message_ids, "not due yet: nothing sent")
        self.assertFalse(self.smtp_handler.messages)

        self._make_due(schedule)
        run_at = schedule.next_run
        self._run_crons()
        first = schedule.message_ids
        self.assertEqual(len(first), 1)
        self.assertEqual(first.schedule_id, schedule)
        self.assertEqual(first.origin, "automated")
        self.assertEqual(first.origin_ref, "Recurring message: Monthly notice")
        self.assertEqual(
            first.idempotency_key,
            f"schedule-{schedule.id}-{fields.Datetime.to_string(run_at)}",
        )
        self.assertEqual(first.author_id, self.user_messages)
        self.assertEqual(first.recipient_ids.partner_id, self.alice)
        self.assertEqual(first.state, "sent")
        (email,) = self.received("alice@example.com")
        self.assertEqual(email["Subject"], "Notice for Alice Person")
        self.assertFalse(self.received("bob@example.com"))
        self.assertGreater(schedule.next_run, fields.Datetime.now())
        self.assertEqual(schedule.last_run.date(), date.today())

        # a new customer of the filter gets the second run
        carol = self._create_customer(
            "Carol North",
            email="carol@example.com",
            location_id=self.location_north.id,
        )
        self._make_due(schedule, hours=2)
        self._run_crons()
        second = schedule.message_ids - first
        self.assertEqual(len(second), 1, "each run is its own message")
        self.assertEqual(second.recipient_ids.partner_id, self.alice | carol)
        self.assertEqual(len(self.received("alice@example.com")), 2)
        (email,) = self.received("carol@example.com")
        self.assertEqual(email["Subject"], "Notice for Carol North")
        self.assertEqual(schedule.message_count, 2)
        action = schedule.action_view_messages()
        self.assertEqual(
            self.env["customer.message"].search(action["domain"]), first | second
        )

    def test_cron_twice_sends_nothing_twice(self):
        schedule = self._schedule()
        self._make_due(schedule)
        run_at = schedule.next_run
        self._run_crons()
        self._run_crons()
        self.assertEqual(len(schedule.message_ids), 1)
        self.assertEqual(len(self.received("alice@example.com")), 1)

        # the same run fired again (its next run put back): the key holds
        schedule.next_run = run_at
        self._run_crons()
        self.assertEqual(len(schedule.message_ids), 1)
        self.assertEqual(len(self.received("alice@example.com")), 1)

    def test_missed_runs_run_once(self):
        schedule = self._schedule(interval_number=1)
        # Odoo was down for five days: one run, then the next after now
        schedule.next_run = fields.Datetime.now() - timedelta(days=5)
        self._run_crons()
        self.assertEqual(len(schedule.message_ids), 1)
        self.assertEqual(len(self.received("alice@example.com")), 1)
        now = fields.Datetime.now()
        self.assertGreater(schedule.next_run, now)
        self.assertLessEqual(schedule.next_run, now + timedelta(days=1))
        self.assertEqual(schedule.next_run.hour, 8)

    def test_nobody_matches_then_goes_on(self):
        empty = self._schedule(
            name="Nobody", recipient_domain=repr([("customer_login", "=", "none")])
        )
        schedule = self._schedule()
        self._make_due(empty, hours=3)
        self._make_due(schedule)
        self._run_crons()
        self.assertFalse(empty.message_ids)
        self.assertGreater(empty.next_run, fields.Datetime.now())
        self.assertEqual(len(schedule.message_ids), 1)
        with self.assertRaises(ValidationError):
            self._schedule(recipient_domain="[('no_such_field', '=', 1)]")

    def test_pause_resume(self):
        schedule = self._schedule()
        schedule.action_pause()
        self.assertEqual(schedule.state, "paused")
        self._make_due(schedule)
        self._run_crons()
        self.assertFalse(schedule.message_ids, "a paused schedule does not run")
        self.assertFalse(self.smtp_handler.messages)

        schedule.action_resume()
        self.assertEqual(schedule.state, "active")
        self.assertGreater(
            schedule.next_run,
            fields.Datetime.now(),
            "resumed from the next occurrence, the runs missed are not made up",
        )
        self._make_due(schedule)
        self._run_crons()
        self.assertEqual(len(schedule.message_ids), 1)
        self.assertEqual(len(self.received("alice@example.com")), 1)

        schedule.action_end()
        self.assertEqual(schedule.state, "ended")
        self.assertFalse(schedule.next_run)
        schedule.next_run = fields.Datetime.now() - timedelta(hours=1)
        self._run_crons()
        self.assertEqual(len(schedule.message_ids), 1, "an ended schedule never runs")

    def test_end_date_ends_it(self):
        schedule = self._schedule(date_end=date.today())
        self._make_due(schedule)
        self._run_crons()
        self.assertEqual(len(schedule.message_ids), 1, "the run of the last day")
        self.assertEqual(schedule.state, "ended", "the next one is after the end")
        self.assertFalse(schedule.next_run)

        # a due run after the end date is not sent
        late = self._schedule(date_end=date.today() - timedelta(days=3))
        late.next_run = fields.Datetime.now() - timedelta(hours=1)
        self._run_crons()
        self.assertFalse(late.message_ids)
        self.assertEqual(late.state, "ended")
        self.assertEqual(len(self.received("alice@example.com")), 1)

    def test_monthly_day_31(self):
        with freeze_time("2027-01-31 10:00:00"):
            schedule = self._schedule(
                interval_type="monthly", month_day=31, hour=9.5, tz="Europe/Brussels"
            )
            # 31 January 09:30 in Brussels is past: the next is in February
            self.assertEqual(schedule.next_run, datetime(2027, 2, 28, 8, 30))
        with freeze_time("2027-02-28 08:31:00"):
            self._run_schedules()
            self.assertEqual(len(schedule.message_ids), 1)
            self.assertEqual(schedule.next_run, datetime(2027, 3, 31, 7, 30))
        # leap year; summer time in Brussels (UTC+2)
        self.assertEqual(
            schedule._get_next_run(datetime(2028, 2, 1)), datetime(2028, 2, 29, 8, 30)
        )
        self.assertEqual(
            schedule._get_next_run(datetime(2028, 4, 30, 8, 0)),
            datetime(2028, 5, 31, 7, 30),
        )
        self.assertEqual(
            schedule._get_next_run(datetime(2028, 4, 29, 8, 0)),
            datetime(2028, 4, 30, 7, 30),
        )

    def test_every_n_days(self):
        with freeze_time("2027-03-10 07:00:00"):
            schedule = self._schedule(interval_number=3, hour=8.0, tz="UTC")
            self.assertEqual(schedule.next_run, datetime(2027, 3, 10, 8, 0))
        with freeze_time("2027-03-10 08:05:00"):
            self._run_schedules()
            self.assertEqual(schedule.next_run, datetime(2027, 3, 13, 8, 0))
        # three weeks later: the next occurrence of the same rhythm
        self.assertEqual(
            schedule._get_next_run(
                datetime(2027, 4, 1, 9, 0), anchor=datetime(2027, 3, 13, 8, 0)
            ),
            datetime(2027, 4, 3, 8, 0),
        )

    def test_plain_user_creates_and_runs_one(self):
        schedule = self._schedule(user=self.user_sender)
        self.assertEqual(schedule.user_id, self.user_sender)
        self._make_due(schedule)
        self._run_crons(user=self.user_sender)
        self.assertEqual(len(schedule.message_ids), 1)
        self.assertEqual(len(self.received("alice@example.com")), 1)
        schedule.with_user(self.user_sender).action_pause()
        self.assertEqual(schedule.state, "paused")
        # what a non-editor types is never run
        with self.assertRaises(AccessError):
            self._schedule(
                user=self.user_sender, subject="{{ object.sudo().env.user.login }}"
            )
        # portal and plain internal users have no access
        with self.assertRaises(AccessError):
            schedule.with_user(self.user_internal).read(["name"])

    def test_other_company_hidden(self):
        schedule = self._schedule()
        other = self.env["res.company"].create({"name": "Other ISP"})
        user = self.user_messages
        user.write({"company_ids": [(4, other.id)], "company_id": other.id})
        found = (
            self.env["customer.message.schedule"]
            .with_user(user)
            .with_context(allowed_company_ids=other.ids)
            .search([("id", "=", schedule.id)])
        )
        self.assertFalse(found)
        # the twin: the same user sees it in the schedule's company
        found = (
            self.env["customer.message.schedule"]
            .with_user(user)
            .with_context(allowed_company_ids=self.company.ids)
            .search([("id", "=", schedule.id)])
        )
        self.assertEqual(found, schedule)

    def test_repeat_from_the_composer(self):
        composer = self._compose(
            user=self.user_sender,
            mode="mass",
            location_ids=self.location_north,
            subject="Hello {{ object.name }}",
            body_html="<p>News for {{ object.name }}</p>",
            invoice_policy="unpaid",
        )
        action = composer.action_repeat()
        self.assertEqual(action["res_model"], "customer.message.schedule")
        Schedule = (
            self.env["customer.message.schedule"]
            .with_user(self.user_sender)
            .with_context(**action["context"])
        )
        form = Form(Schedule)
        self.assertEqual(form.name, "Hello {{ object.name }}")
        self.assertEqual(form.recipient_filter, "Locations: North Town")
        self.assertEqual(form.invoice_policy, "unpaid")
        form.interval_type = "monthly"
        form.month_day = 15
        form.hour = 7.0
        schedule = form.save()
        self.assertEqual(schedule.state, "active")
        self.assertEqual(schedule.next_run.day, 15)
        self._make_due(schedule)
        self._run_crons()
        (email,) = self.received("alice@example.com")
        self.assertEqual(email["Subject"], "Hello Alice Person")
        self.assertIn("News for Alice Person", self.html_body(email))
        self.assertFalse(self.received("bob@example.com"))


@tagged("customer_messages", "post_install", "-at_install")
class TestScheduleTour(BrowserTour, HttpCase, SendingCase):
    def test_repeat_tour(self):
        """Repeat... in the composer opens the recurring message, prefilled;
        saved, it runs by its cron."""
        self.start_tour("/odoo", "customer_messages_schedule", login="cm_sender")
        schedule = self.env["customer.message.schedule"].search(
            [("name", "=", "Weekly tip")]
        )
        self.assertEqual(len(schedule), 1)
        self.assertEqual(schedule.state, "active")
        self.assertEqual(schedule.interval_type, "days")
        self.assertEqual(schedule.interval_number, 7)
        self.assertEqual(schedule.user_id, self.user_sender)
        self.assertEqual(schedule.recipient_filter, "Locations: North Town")
        schedule.next_run = fields.Datetime.now() - timedelta(minutes=5)
        self.env["customer.message.schedule"]._cron_run_schedules()
        self.env["customer.message"]._cron_process()
        (email,) = self.received("alice@example.com")
        self.assertEqual(email["Subject"], "Weekly tip")


class TimeZoneCase(SendingCase):
    """Customers in Tokyo, New York and without a zone; a sender in UTC."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.company.partner_id.tz = False
        cls.user_sender.tz = "UTC"
        cls.alice.tz = "Asia/Tokyo"
        cls.bob.tz = "America/New_York"
        cls.carol = cls._create_customer("Carol Nozone", email="carol@example.com")

    def _pass_hours(self, message, hours):
        """Move the message's times back, as if the hours had passed."""
        self.env.flush_all()
        self.env.cr.execute(
            "UPDATE customer_message_recipient SET scheduled_date = "
            "scheduled_date - %s * interval '1 hour' WHERE message_id = %s",
            (hours, message.id),
        )
        self.env.cr.execute(
            "UPDATE customer_message SET due_date = due_date - %s * interval '1 hour',"
            " scheduled_date = scheduled_date - %s * interval '1 hour' WHERE id = %s",
            (hours, hours, message.id),
        )
        self.env.invalidate_all()


@tagged("customer_messages", "post_install", "-at_install")
class TestSendInCustomerTimeZone(TimeZoneCase):
    """A message sent later at a time of day in each customer's own time
    zone: customers further east get it first, each at their local time,
    by the processing cron; the others wait, and the message with them."""

    def test_each_customer_at_their_local_time(self):
        now = fields.Datetime.now().replace(microsecond=0)
        # 4 hours from now in UTC (the sender's zone): in Tokyo (UTC+9) that
        # time of day came 5 hours ago; in New York (UTC-5 or -4) it is 8 or
        # 9 hours away; Carol has no zone: the sender's
        composer = self._compose(
            mode="mass",
            partner_ids=self.alice | self.bob | self.carol,
            subject="Maintenance tonight, {{ object.name }}",
            body_html="<p>Hello</p>",
            scheduled_date=now + timedelta(hours=4),
            scheduled_in_customer_tz=True,
        )
        composer.action_send()
        message = self.env["customer.message"].search(
            [("subject", "=", "Maintenance tonight, {{ object.name }}")]
        )
        self.assertTrue(message.scheduled_in_customer_tz)
        lines = {line.partner_id: line for line in message.recipient_ids}
        self.assertEqual(lines[self.alice].scheduled_date, now + timedelta(hours=4 - 9))
        self.assertEqual(lines[self.carol].scheduled_date, now + timedelta(hours=4))
        self.assertIn(
            lines[self.bob].scheduled_date - now,
            (timedelta(hours=8), timedelta(hours=9)),
        )
        self.assertEqual(message.due_date, lines[self.alice].scheduled_date)

        self.env["customer.message"]._cron_process()
        self.assertEqual(len(self.received("alice@example.com")), 1)
        self.assertFalse(self.received("carol@example.com"))
        self.assertFalse(self.received("bob@example.com"))
        self.assertEqual(message.state, "processing")
        self.assertEqual(
            message.due_date, lines[self.carol].scheduled_date, "the next zone's time"
        )
        trigger = self.env["ir.cron.trigger"].search(
            [
                (
                    "cron_id",
                    "=",
                    self.env.ref(
                        "customer_messages.ir_cron_customer_message_process"
                    ).id,
                ),
                ("call_at", "=", message.due_date),
            ]
        )
        self.assertTrue(trigger, "the cron is woken at the next zone's time")

        # a run before that time sends nothing more
        self.env["customer.message"]._cron_process()
        self.assertEqual(len(self.smtp_handler.messages), 1)

        self._pass_hours(message, 4)
        self.env["customer.message"]._cron_process()
        self.assertEqual(len(self.received("carol@example.com")), 1)
        self.assertFalse(self.received("bob@example.com"))
        self.assertEqual(message.state, "processing")

        self._pass_hours(message, 5)
        self.env["customer.message"]._cron_process()
        self.assertEqual(len(self.received("bob@example.com")), 1)
        self.assertEqual(len(self.received("alice@example.com")), 1, "once")
        self.assertEqual(message.state, "sent")
        self.assertEqual(set(message.recipient_ids.mapped("state")), {"sent"})

    def test_without_customer_time_zone(self):
        """The option off: every customer at the scheduled time."""
        message = self.env["customer.message"]._send_to_customers(
            self.alice | self.bob,
            {
                "subject": "Later",
                "body_html": "<p>Hi</p>",
                "scheduled_date": fields.Datetime.now() + timedelta(hours=2),
            },
        )
        self.assertFalse(message.recipient_ids.filtered("scheduled_date"))
        self.assertEqual(message.due_date, message.scheduled_date)
        self.env["customer.message"]._cron_process()
        self.assertFalse(self.smtp_handler.messages)
        self.assertEqual(message.state, "new")


@tagged("customer_messages", "post_install", "-at_install")
class TestQuietHours(TimeZoneCase):
    """Quiet hours in each customer's time zone: the customers in them are
    held, then sent to when they end, by the processing cron; never
    dropped."""

    def test_held_until_the_window_ends(self):
        now = fields.Datetime.now()
        tokyo = (now.hour + 9) % 24  # the hour it is now in Tokyo
        self.env["customer.message.quiet.hours"].create(
            {"channel": "email", "start_hour": tokyo, "end_hour": (tokyo + 2) % 24}
        )
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.alice | self.bob | self.carol,
                {"subject": "Your new plan", "body_html": "<p>Hello</p>"},
            )
        )
        self.assertEqual(len(self.received("bob@example.com")), 1)
        self.assertEqual(len(self.received("carol@example.com")), 1)
        self.assertFalse(self.received("alice@example.com"), "night in Tokyo")
        self.assertEqual(message.state, "processing")
        alice_line = message.recipient_ids.filtered(
            lambda line: line.partner_id == self.alice
        )
        self.assertEqual(alice_line.state, "new")
        # held until the end of the window, Tokyo time
        end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
        self.assertEqual(alice_line.scheduled_date, end)
        self.assertEqual(message.due_date, end)

        self.env["customer.message"]._cron_process()
        self.assertFalse(self.received("alice@example.com"), "still quiet")
        self._pass_hours(message, 2)
        self.env["customer.message"]._cron_process()
        self.assertEqual(len(self.received("alice@example.com")), 1)
        self.assertEqual(len(self.smtp_handler.messages), 3, "each once")
        self.assertEqual(message.state, "sent")

    def test_categories(self):
        """A window for some categories holds their messages only."""
        Quiet = self.env["customer.message.quiet.hours"]
        marketing = self.env.ref(
            "customer_messages.customer_message_category_marketing"
        )
        billing = self.env.ref("customer_messages.customer_message_category_billing")
        new_york = fields.Datetime.context_timestamp(
            self.env["res.partner"].with_context(tz="America/New_York"),
            fields.Datetime.now(),
        ).hour  # the hour it is now at Bob's
        window = Quiet.create(
            {
                "channel": "email",
                "start_hour": new_york,
                "end_hour": (new_york + 2) % 24,
                "category_ids": [Command.set(marketing.ids)],
            }
        )
        Message = self.env["customer.message"]
        offer = Message.new({"channel": "email", "category_id": marketing.id})
        invoice = Message.new({"channel": "email", "category_id": billing.id})
        plain = Message.new({"channel": "email"})
        self.assertEqual(Quiet._get_for_message(offer), window)
        self.assertFalse(Quiet._get_for_message(invoice))
        self.assertFalse(Quiet._get_for_message(plain))
        message = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.bob,
                {
                    "subject": "Your invoice",
                    "body_html": "<p>Hello</p>",
                    "category_id": billing.id,
                },
            )
        )
        self.assertEqual(message.state, "sent", "billing is not held")
        self.assertEqual(len(self.received("bob@example.com")), 1)
        offer = (
            self.env["customer.message"]
            .with_user(self.user_sender)
            ._send_to_customers(
                self.bob,
                {
                    "subject": "Our offer",
                    "body_html": "<p>Hello</p>",
                    "category_id": marketing.id,
                },
            )
        )
        self.assertEqual(len(self.received("bob@example.com")), 1, "marketing waits")
        self.assertEqual(offer.recipient_ids.state, "new")
        self.assertTrue(offer.recipient_ids.scheduled_date, "held until it ends")

    def test_next_allowed_time(self):
        Quiet = self.env["customer.message.quiet.hours"]
        night = Quiet.create({"channel": "sms", "start_hour": 21.0, "end_hour": 8.0})
        lunch = Quiet.create({"channel": "sms", "start_hour": 8.0, "end_hour": 9.5})
        day = datetime(2026, 12, 7)
        self.assertEqual(
            night._get_next_allowed(day.replace(hour=22, minute=30)),
            datetime(2026, 12, 8, 8, 0),
        )
        self.assertEqual(
            night._get_next_allowed(day.replace(hour=7)), day.replace(hour=8)
        )
        self.assertEqual(
            night._get_next_allowed(day.replace(hour=12)), day.replace(hour=12)
        )
        self.assertEqual(
            (night | lunch)._get_next_allowed(day.replace(hour=23)),
            datetime(2026, 12, 8, 9, 30),
            "one window after the other",
        )
        self.assertEqual(night.display_name, "No SMS from 21:00 to 08:00")

    def test_channel_and_automations(self):
        Quiet = self.env["customer.message.quiet.hours"]
        window = Quiet.create(
            {
                "channel": "sms",
                "start_hour": 0.0,
                "end_hour": 23.99,
                "include_automated": False,
            }
        )
        Message = self.env["customer.message"]
        email = Message.new({"channel": "email", "origin": "manual"})
        sms = Message.new({"channel": "sms", "origin": "manual"})
        automated = Message.new({"channel": "sms", "origin": "automated"})
        self.assertFalse(Quiet._get_for_message(email))
        self.assertEqual(Quiet._get_for_message(sms), window)
        self.assertFalse(Quiet._get_for_message(automated))
        with (
            self.assertRaises(psycopg2.errors.CheckViolation),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            Quiet.create({"channel": "sms", "start_hour": 8.0, "end_hour": 8.0})
        with self.assertRaises(AccessError):
            Quiet.with_user(self.user_sender).create(
                {"channel": "sms", "start_hour": 20.0, "end_hour": 8.0}
            )
