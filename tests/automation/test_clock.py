import threading
from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import Command, api, fields
from odoo.modules.registry import Registry
from odoo.orm.environments import Transaction
from odoo.tests import freeze_time, tagged
from odoo.tests.common import BaseCase, get_db_name

from ..common import SendingCase

SCHEDULE_VALUES = {
    "subject": "Clock notice",
    "body_html": "<p>On time.</p>",
    "channel": "email",
    "interval_type": "days",
    "interval_number": 1,
    "hour": 9.0,
    "tz": "UTC",
}


@tagged("customer_messages", "post_install", "-at_install")
class TestClockLocking(BaseCase):
    """The loop of customer.message.clock.mixin in two cron runs at once,
    two real transactions: each due record is run by one of them only
    (``FOR UPDATE SKIP LOCKED``), and none waits for the other. The
    schedules are committed, and removed after."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.registry = Registry(get_db_name())
        cls.schedule_ids = []
        cls.addClassCleanup(cls._remove_committed)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            cls.schedule_ids = (
                env["customer.message.schedule"]
                .create(
                    [
                        {**SCHEDULE_VALUES, "name": f"Clock {index}"}
                        for index in range(2)
                    ]
                )
                .ids
            )

    @classmethod
    def _remove_committed(cls):
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            env["customer.message.schedule"].browse(cls.schedule_ids).unlink()

    def _env(self, cr):
        if cr.transaction is None:
            # the registry itself: looking it up by name waits for the lock
            # the test runner holds, in the other threads
            cr.transaction = Transaction(self.registry)
        return api.Environment(cr, api.SUPERUSER_ID, {})

    def _make_due(self):
        """Both schedules due (before anything else), committed."""
        with self.registry.cursor() as cr:
            schedules = self._env(cr)["customer.message.schedule"].browse(
                self.schedule_ids
            )
            for index, schedule in enumerate(schedules):
                schedule.write(
                    {"state": "active", "next_run": datetime(2000, 1, 1, index)}
                )

    def _next_runs(self):
        with self.registry.cursor() as cr:
            schedules = self._env(cr)["customer.message.schedule"].browse(
                self.schedule_ids
            )
            return schedules.mapped("next_run")

    def _run_clock(self, runs):
        """Patch the schedules' run: it records (worker, schedule) instead of
        sending; the first worker holds its first run until the second
        worker's cron run is over."""
        first_running = threading.Event()
        second_done = threading.Event()
        first_done = threading.Event()
        Schedule = self.registry["customer.message.schedule"]

        def run_due(record, now, due_at):
            worker = threading.current_thread().name
            runs.append((worker, record.id))
            if worker == "first" and not first_running.is_set():
                first_running.set()
                self.assertTrue(second_done.wait(timeout=30))

        errors = []

        def first():
            try:
                with self.registry.cursor() as cr:
                    self._env(cr)["customer.message.schedule"]._run_due_records()
                    first_done.set()
            except Exception as error:  # noqa: BLE001 - reported by the test
                errors.append(error)
            finally:
                first_running.set()
                first_done.set()

        def second():
            try:
                self.assertTrue(first_running.wait(timeout=30))
                with self.registry.cursor() as cr:
                    self._env(cr)["customer.message.schedule"]._run_due_records()
                    second_done.set()
                    # holds its locks until the first worker is over
                    self.assertTrue(first_done.wait(timeout=30))
            except Exception as error:  # noqa: BLE001 - reported by the test
                errors.append(error)
            finally:
                second_done.set()

        with patch.object(Schedule, "_run_due", run_due):
            workers = [
                threading.Thread(target=first, name="first"),
                threading.Thread(target=second, name="second"),
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join(timeout=60)
        self.assertFalse(errors)
        return [run for run in runs if run[1] in self.schedule_ids]

    def test_two_cron_runs_never_run_a_record_twice(self):
        self._make_due()
        runs = self._run_clock([])
        self.assertEqual(
            sorted(schedule_id for _worker, schedule_id in runs),
            sorted(self.schedule_ids),
            "each due schedule ran once",
        )
        self.assertEqual(
            sorted(worker for worker, _schedule_id in runs),
            ["first", "second"],
            "the second worker skipped the one the first holds and ran the other",
        )
        now = fields.Datetime.now()
        self.assertTrue(all(next_run > now for next_run in self._next_runs()))
        # the positive twin: run again, nothing is due any more; due again,
        # each runs again once
        self.assertFalse(self._run_clock([]))
        self._make_due()
        self.assertEqual(
            sorted(schedule_id for _worker, schedule_id in self._run_clock([])),
            sorted(self.schedule_ids),
        )


@tagged("customer_messages", "post_install", "-at_install")
class TestClock(SendingCase):
    """The contract of customer.message.clock.mixin on its models: a run's
    key, the next run in the record's time zone."""

    def _schedule(self, **values):
        return self.env["customer.message.schedule"].create(
            {
                **SCHEDULE_VALUES,
                "name": "Clock",
                "recipient_domain": repr(
                    [("location_id", "=", self.location_north.id)]
                ),
                **values,
            }
        )

    def test_key_stops_a_second_send_of_one_occurrence(self):
        # not under freeze_time: a key stops a send for 24 hours after the
        # message's creation, which the database dates
        schedule = self._schedule()
        now = fields.Datetime.now().replace(microsecond=0)
        due_at = now - timedelta(hours=1)
        self.assertEqual(
            schedule._get_clock_key(due_at),
            f"schedule-{schedule.id}-{fields.Datetime.to_string(due_at)}",
        )
        Schedule = self.env["customer.message.schedule"]
        schedule.next_run = due_at
        Schedule._cron_run_schedules()
        first = schedule.message_ids
        self.assertEqual(len(first), 1)
        self.assertEqual(first.idempotency_key, schedule._get_clock_key(due_at))
        self.assertGreater(schedule.next_run, now)
        # the same occurrence given again (its next run put back): its key
        # finds the message sent, nothing is sent again
        schedule.next_run = due_at
        Schedule._cron_run_schedules()
        self.assertEqual(schedule.message_ids, first)
        self.assertGreater(schedule.next_run, now)
        # the positive twin: another occurrence is a message of its own
        other_at = now - timedelta(minutes=30)
        schedule.next_run = other_at
        Schedule._cron_run_schedules()
        self.assertEqual(len(schedule.message_ids), 2)
        self.assertEqual(
            (schedule.message_ids - first).idempotency_key,
            schedule._get_clock_key(other_at),
        )

    def test_next_run_moves_in_the_record_time_zone(self):
        """Paris goes to summer time on 28 March 2027: 09:00 there is 08:00
        UTC on the 27th, 07:00 UTC on the 28th."""
        template = self.env["mail.template"].create(
            {
                "name": "Clock reminder",
                "model_id": self.env.ref("base.model_res_partner").id,
                "subject": "Reminder",
                "body_html": "<p>Reminder</p>",
            }
        )
        rule_values = {
            "name": "Clock rule",
            "trigger": "customer_blocked",
            "hour": 9.0,
            "working_days_only": False,
            "tz": "Europe/Paris",
            "step_ids": [
                Command.create(
                    {
                        "days": 2,
                        "timing": "after",
                        "channel": "email",
                        "template_id": template.id,
                    }
                )
            ],
        }
        with freeze_time("2027-03-27 07:00:00"):
            paris = self._schedule(tz="Europe/Paris")
            utc = self._schedule(tz="UTC")
            rule = self.env["customer.message.rule"].create(rule_values)
            self.assertEqual(paris.next_run, datetime(2027, 3, 27, 8, 0))
            self.assertEqual(rule.next_run, datetime(2027, 3, 27, 8, 0))
            self.assertEqual(utc.next_run, datetime(2027, 3, 27, 9, 0))
        with freeze_time("2027-03-27 09:30:00"):
            self.env["customer.message.schedule"]._cron_run_schedules()
            self.env["customer.message.rule"]._cron_run_rules()
        self.assertEqual(len(paris.message_ids), 1)
        self.assertEqual(paris.next_run, datetime(2027, 3, 28, 7, 0))
        self.assertEqual(rule.last_run, datetime(2027, 3, 27, 9, 30))
        self.assertEqual(rule.next_run, datetime(2027, 3, 28, 7, 0))
        # the positive twin: in UTC, the same hour every day
        self.assertEqual(len(utc.message_ids), 1)
        self.assertEqual(utc.next_run, datetime(2027, 3, 28, 9, 0))
        self.assertEqual(paris.next_run - utc.next_run, timedelta(hours=-2))
