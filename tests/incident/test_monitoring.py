import json
from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, freeze_time, new_test_user, tagged

from ..common import FakeGateway
from .test_incidents import IncidentCase

ALERT_CRON = "customer_messages.ir_cron_customer_incident_alert"


def iso(moment):
    return moment.isoformat() + "Z"


@tagged("customer_messages", "post_install", "-at_install")
class TestMonitoring(HttpCase, IncidentCase):
    """Incidents from a monitoring system's alerts, posted over HTTP to the
    webhook as Prometheus Alertmanager and a plain JSON sender do."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.monitor = cls._monitor(cls.user_manager, auto_notify=True)

    @classmethod
    def _monitor(cls, user, auto_notify, hold_down=5):
        monitor = (
            cls.env["customer.incident.monitor"]
            .with_user(user)
            .create(
                {
                    "name": "Alertmanager",
                    "mapping_ids": [
                        Command.create(
                            {
                                "label_name": "site",
                                "label_value": "north-*",
                                "location_ids": [Command.set(cls.location_north.ids)],
                                "hold_down_minutes": hold_down,
                                "auto_notify": auto_notify,
                                "public_description": "Our network in North Town "
                                "is down.",
                            }
                        )
                    ],
                }
            )
        )
        return monitor.sudo()

    def _post(self, payload, monitor=None, token=None, raw=None, headers=None):
        monitor = monitor or self.monitor
        headers = {"Content-Type": "application/json", **(headers or {})}
        if token is None and "X-Customer-Messages-Token" not in headers:
            headers["Authorization"] = f"Bearer {monitor.token}"
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.url_open(
            f"/customer_messages/monitoring/{monitor.id}",
            data=raw if raw is not None else json.dumps(payload),
            headers=headers,
        )

    def _alertmanager(self, status, starts, ends=None, site="north-olt-1"):
        """Alertmanager's webhook body (version 4) for one alert."""
        return {
            "version": "4",
            "status": status,
            "receiver": "customer-messages",
            "groupLabels": {"alertname": "OltDown"},
            "alerts": [
                {
                    "status": status,
                    "labels": {"alertname": "OltDown", "site": site},
                    "annotations": {"summary": f"OLT {site} unreachable"},
                    "startsAt": iso(starts),
                    "endsAt": iso(ends) if ends else "0001-01-01T00:00:00Z",
                    "fingerprint": f"fp-{site}",
                }
            ],
        }

    def _results(self, response):
        self.assertEqual(response.status_code, 200, response.text)
        return response.json()["results"]

    def _run_alerts(self, at=None):
        with freeze_time(at or fields.Datetime.now(), tick=True):
            with self.enter_registry_test_mode():
                result = self.env.ref(ALERT_CRON).method_direct_trigger()
            self.assertIs(result, True, f"the cron failed: {result}")
            self.env["customer.message"]._cron_process()

    def _incidents(self):
        return self.env["customer.incident"].search(
            [("alert_ids.monitor_id", "in", self.monitor.ids)]
        )

    def test_alertmanager_opens_notifies_and_resolves(self):
        now = fields.Datetime.now()
        started = now - timedelta(minutes=10)
        self.assertEqual(
            self._results(self._post(self._alertmanager("firing", started))), ["held"]
        )
        self.assertFalse(self._incidents(), "the request only records the alert")
        self._run_alerts()
        incident = self._incidents()
        self.assertEqual(len(incident), 1)
        self.assertEqual(incident.name, "OLT north-olt-1 unreachable")
        self.assertEqual(incident.location_ids, self.location_north)
        self.assertEqual(incident.date_start, started)
        self.assertEqual(incident.state, "ongoing")
        self.assertEqual(incident.configured_uid, self.user_manager)
        self.assertEqual(self.sms_numbers(), ["+32470112233", "+32470123456"])
        (email,) = self.received("alice@example.com")
        self.assertEqual(
            email["Subject"], "Service outage: OLT north-olt-1 unreachable"
        )
        self.assertIn("Our network in North Town is down.", self.html_body(email))
        self.assertFalse(self.received("bob@example.com"), "Bob lives in the south")

        # Alertmanager repeats a firing alert: nothing new
        self.assertEqual(
            self._results(self._post(self._alertmanager("firing", started))),
            ["duplicate"],
        )
        self._run_alerts()
        self.assertEqual(len(self._incidents()), 1)
        self.assertEqual(len(self.received("alice@example.com")), 1)

        # resolved: the incident is resolved with its notice
        resolved = self._alertmanager("resolved", started, ends=now)
        self.assertEqual(self._results(self._post(resolved)), ["resolved"])
        self._run_alerts()
        self.assertEqual(incident.state, "resolved")
        emails = self.received("alice@example.com")
        self.assertEqual(len(emails), 2)
        self.assertEqual(emails[1]["Subject"], "Resolved: OLT north-olt-1 unreachable")
        # a late copy of the firing, or of the resolution, changes nothing
        self.assertEqual(
            self._results(self._post(self._alertmanager("firing", started))), ["stale"]
        )
        self._post(resolved)
        self._run_alerts()
        self.assertEqual(len(self._incidents()), 1)
        self.assertEqual(len(self.received("alice@example.com")), 2)

    def test_hold_down_keeps_a_flapping_link_quiet(self):
        """The plain JSON form (UISP, Zabbix, LibreNMS): the link goes down
        and comes back within the hold-down: nobody is told."""
        now = fields.Datetime.now()
        down = {
            "key": "uisp-north-7",
            "status": "PROBLEM",
            "labels": {"site": "north-7"},
            "summary": "North 7 link down",
            "starts_at": iso(now),
        }
        self.assertEqual(self._results(self._post(down)), ["held"])
        self._run_alerts(now + timedelta(minutes=2))
        self.assertFalse(self._incidents(), "within the hold-down")
        up = dict(down, status="OK", ends_at=iso(now + timedelta(minutes=3)))
        self.assertEqual(self._results(self._post([up])), ["flapped"])
        self._run_alerts(now + timedelta(minutes=10))
        self.assertFalse(self._incidents())
        self.assertFalse(FakeGateway.received or self.smtp_handler.messages)
        # the same link down for good: an incident once the hold-down passed
        later = now + timedelta(minutes=20)
        self.assertEqual(
            self._results(self._post(dict(down, starts_at=iso(later)))), ["held"]
        )
        self._run_alerts(later + timedelta(minutes=4))
        self.assertFalse(self._incidents())
        self._run_alerts(later + timedelta(minutes=6))
        self.assertEqual(len(self._incidents()), 1)

    def test_out_of_order_and_unmapped(self):
        now = fields.Datetime.now()
        started = now - timedelta(minutes=30)
        resolved = self._alertmanager("resolved", started, ends=now)
        self.assertEqual(self._results(self._post(resolved)), ["recorded"])
        self.assertEqual(
            self._results(self._post(self._alertmanager("firing", started))), ["stale"]
        )
        south = self._alertmanager("firing", started, site="south-1")
        self.assertEqual(self._results(self._post(south)), ["unmapped"])
        self._run_alerts()
        self.assertFalse(self._incidents())
        alerts = self.monitor.alert_ids
        self.assertEqual(sorted(alerts.mapped("state")), ["resolved", "unmapped"])

    def test_without_auto_notify_staff_decide(self):
        monitor = self._monitor(self.user_manager, auto_notify=False, hold_down=0)
        now = fields.Datetime.now()
        self._post(self._alertmanager("firing", now), monitor=monitor)
        self._run_alerts()
        incident = monitor.alert_ids.incident_id
        self.assertEqual(incident.state, "draft")
        self.assertFalse(FakeGateway.received or self.smtp_handler.messages)
        self._post(self._alertmanager("resolved", now, ends=now), monitor=monitor)
        self._run_alerts()
        self.assertEqual(incident.state, "resolved")
        self.assertFalse(incident.notice_message_ids)

    def test_approval_follows_who_configured_the_mapping(self):
        """Outage notices need approval: a plain user's mapping waits, a
        manager's goes (the gate of approval, as for a click)."""
        self.env.ref(
            "customer_messages.customer_message_category_service"
        ).requires_approval = True
        plain = self._monitor(self.user_sender, auto_notify=True, hold_down=0)
        self.assertEqual(plain.mapping_ids.configured_uid, self.user_sender)
        now = fields.Datetime.now()
        self._post(self._alertmanager("firing", now), monitor=plain)
        self._run_alerts()
        incident = plain.alert_ids.incident_id
        self.assertEqual(incident.user_id, self.user_sender)
        self.assertEqual(
            set(incident.notice_message_ids.mapped("state")), {"to_approve"}
        )
        self.assertFalse(FakeGateway.received or self.smtp_handler.messages)
        # the manager's source of the same alert goes at once
        self._post(
            self._alertmanager("firing", now - timedelta(minutes=6), site="north-2")
        )
        self._run_alerts()
        self.assertEqual(
            set(self.monitor.alert_ids.incident_id.notice_message_ids.mapped("state")),
            {"sent"},
        )
        self.assertEqual(len(self.received("alice@example.com")), 1)

    def test_the_webhook_refuses_what_it_must(self):
        firing = self._alertmanager("firing", fields.Datetime.now())
        for token in ("", "wrong", "é" * 10):
            self.assertEqual(self._post(firing, token=token).status_code, 403)
        self.assertEqual(
            self._post(firing, raw="{not json").status_code, 400, "bad JSON"
        )
        bad = dict(firing, alerts=[dict(firing["alerts"][0], status="maybe")])
        self.assertEqual(self._post(bad).status_code, 400)
        self.assertEqual(self._post(["text"]).status_code, 400)
        self.assertFalse(self.monitor.alert_ids, "nothing recorded")
        # an archived or unknown source is not there
        other = self._monitor(self.user_manager, auto_notify=False)
        other.active = False
        self.assertEqual(self._post(firing, monitor=other).status_code, 404)
        response = self.url_open(
            "/customer_messages/monitoring/999999",
            data=json.dumps(firing),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(response.status_code, 404)
        # the secret in the address or its own header works too
        response = self.url_open(
            f"/customer_messages/monitoring/{self.monitor.id}?token={self.monitor.token}",
            data=json.dumps(firing),
            headers={"Content-Type": "application/json"},
        )
        self.assertEqual(self._results(response), ["held"])
        headers = {"X-Customer-Messages-Token": self.monitor.token}
        self.assertEqual(
            self._results(self._post(firing, headers=headers)), ["duplicate"]
        )

    def test_secrets_and_companies(self):
        monitor = self.monitor.with_user(self.user_sender)
        self.assertTrue(monitor.webhook_url.endswith(f"/monitoring/{monitor.id}"))
        with self.assertRaises(AccessError):
            monitor.read(["token"])
        with self.assertRaises(AccessError):
            monitor.action_regenerate_token()
        manager = self.monitor.with_user(self.user_manager)
        old = manager.token
        manager.action_regenerate_token()
        self.assertNotEqual(manager.token, old)
        firing = self._alertmanager("firing", fields.Datetime.now())
        self.assertEqual(self._post(firing, token=old).status_code, 403)
        # another company's user sees neither the source nor its alerts
        other_company = self.env["res.company"].create({"name": "Other ISP"})
        outsider = new_test_user(
            self.env,
            login="monitor_outsider",
            groups="customer_messages.customer_messages_group_manager",
            company_id=other_company.id,
            company_ids=[Command.set(other_company.ids)],
        )
        self._post(firing)
        self.assertFalse(
            self.env["customer.incident.monitor"].with_user(outsider).search([])
        )
        self.assertFalse(
            self.env["customer.incident.alert"].with_user(outsider).search([])
        )
        with self.assertRaises(AccessError):
            self.monitor.with_user(outsider).read(["name"])
        # users never write an alert
        with self.assertRaises(AccessError):
            self.monitor.alert_ids.with_user(self.user_manager).write(
                {"state": "resolved"}
            )
