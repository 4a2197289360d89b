from datetime import timedelta
from unittest.mock import patch

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, HttpCase, freeze_time, new_test_user, tagged

from ..common import FakeGateway, SendingCase, SMSGatewayCase

CRON = "customer_messages.ir_cron_customer_incident_notify"


class IncidentCase(SendingCase, SMSGatewayCase):
    """Customers with an email and a mobile number, an SMTP server and the
    SMS gateway stand-in on 127.0.0.1; ``arrivals`` lists what reached them,
    in order ("sms", "email")."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # notices are of the Service / outages category: its approval is
        # tested in test_approval_setup; here they go at once
        cls.env.ref(
            "customer_messages.customer_message_category_service"
        ).requires_approval = False
        belgium = cls.env.ref("base.be")
        cls.alice.write({"phone": "+32 470 12 34 56", "country_id": belgium.id})
        cls.bob.write({"phone": "+32 470 65 43 21", "country_id": belgium.id})
        cls.carol = cls._create_customer(
            "Carol North",
            tariffs=cls.tariff_fiber | cls.tariff_voice,
            customer_login="carol",
            email="carol@example.com",
            phone="+32 470 11 22 33",
            country_id=belgium.id,
            location_id=cls.location_north.id,
        )
        # at the location, but not an active customer: never notified
        cls.former = cls._create_customer(
            "Former North",
            tariffs=cls.tariff_fiber,
            email="former@example.com",
            customer_status="inactive",
            location_id=cls.location_north.id,
        )

    def setUp(self):
        super().setUp()
        self.arrivals = arrivals = []
        post = FakeGateway.do_POST

        def do_post(handler):
            # one request carries many SMS: one arrival per number
            before = len(FakeGateway.received)
            post(handler)
            arrivals.extend(["sms"] * (len(FakeGateway.received) - before))

        self.startPatcher(patch.object(FakeGateway, "do_POST", do_post))
        handle_data = self.smtp_handler.handle_DATA

        async def handle_data_recorded(server, session, envelope):
            result = await handle_data(server, session, envelope)
            arrivals.append("email")
            return result

        self.startPatcher(
            patch.object(self.smtp_handler, "handle_DATA", handle_data_recorded)
        )

    def _incident(self, user=None, **values):
        """An incident made in its form, as staff do (a plain Messages /
        User by default)."""
        form = Form(self.env["customer.incident"].with_user(user or self.user_sender))
        form.name = values.pop("name", "Fiber cut in North Town")
        form.kind = values.pop("kind", "outage")
        form.tz = "UTC"
        form.public_description = values.pop(
            "public_description", "A cable was cut by road works."
        )
        for location in values.pop("locations", self.location_north):
            form.location_ids.add(location)
        for tariff in values.pop("tariffs", ()):
            form.tariff_ids.add(tariff)
        for name, value in values.items():
            setattr(form, name, value)
        return form.save()

    def _run_cron(self):
        """The notices' cron as the scheduler runs it, in a cursor of its own
        (on the test's transaction)."""
        with self.enter_registry_test_mode():
            result = self.env.ref(CRON).method_direct_trigger()
        self.assertIs(result, True, f"the cron failed: {result}")

    def sms_numbers(self):
        return sorted(number for _path, number, _text in FakeGateway.received)

    def sms_texts(self, number):
        return [text for _path, to, text in FakeGateway.received if to == number]


@tagged("customer_messages", "post_install", "-at_install")
class TestIncidents(IncidentCase):
    """Outage and maintenance notices, on the module's sending pipeline:
    SMS first, then email and portal; updates to the first audience; each
    notice sent once."""

    def test_affected_count_by_location_tariff_and_service(self):
        incident = self._incident()
        self.assertEqual(incident.affected_count, 2, "Alice and Carol, not Former")
        action = incident.action_view_affected()
        affected = self.env["res.partner"].with_user(self.user_sender)
        self.assertEqual(
            affected.search(action["domain"]).ids, (self.alice | self.carol).ids
        )
        with Form(incident) as form:
            form.tariff_ids.add(self.tariff_voice)
            self.assertEqual(form.affected_count, 1, "Carol only has Voice Flat")
        # a service type alone, every location: Alice, Carol and Bob of the
        # test's customers (and the demo's, on a database with demo data)
        with Form(incident) as form:
            form.location_ids.clear()
            form.tariff_ids.clear()
            form.service_internet = True
            count = form.affected_count
        listed = affected.search(incident.action_view_affected()["domain"])
        self.assertEqual(count, len(listed))
        ours = self.alice | self.bob | self.carol | self.former
        self.assertEqual(listed & ours, self.alice | self.bob | self.carol)
        # a stopped service is not affected
        self.alice.service_ids.status = "stopped"
        incident.invalidate_recordset(["affected_count"])
        self.assertEqual(incident.affected_count, count - 1)
        # no scope: nobody, and no notice
        empty = self._incident(name="Nowhere", locations=())
        self.assertEqual(empty.affected_count, 0)
        with self.assertRaises(UserError):
            empty.action_send_notice()
        # an archived incident sends nothing
        incident.action_archive()
        with self.assertRaises(UserError):
            incident.action_send_notice()
        self.assertFalse(FakeGateway.received or self.smtp_handler.messages)

    def test_affected_count_is_sql(self):
        """The count is one SQL count, whatever the number of customers."""
        incident = self._incident()

        def count_queries():
            incident.invalidate_recordset(["affected_count"])
            self.env.flush_all()
            before = self.env.cr.sql_log_count
            count = incident.affected_count
            return count, self.env.cr.sql_log_count - before

        count_queries()  # the caches warmed up
        count, queries = count_queries()
        self.assertEqual(count, 2)
        self.env["res.partner"].create(
            [
                {
                    "name": f"Customer {number}",
                    "customer_status": "active",
                    "location_id": self.location_north.id,
                }
                for number in range(40)
            ]
        )
        self.assertEqual(count_queries(), (42, queries))

    def test_first_notice_sms_then_email_and_portal(self):
        incident = self._incident(date_end=fields.Datetime.now() + timedelta(hours=4))
        incident.action_send_notice()
        self.assertEqual(incident.state, "ongoing", "an outage is ongoing at once")
        self.assertTrue(incident.notice_date)
        sms, mail = incident.notice_message_ids.sorted("id")
        self.assertEqual(sms.channel, "sms", "the SMS is created first")
        self.assertEqual(mail.channel, "portal_email")
        self.assertEqual((sms | mail).mapped("incident_notice"), ["notice", "notice"])
        self.assertEqual(sms.idempotency_key, f"incident-{incident.id}-notice-0-sms")
        self.assertEqual(
            mail.idempotency_key, f"incident-{incident.id}-notice-0-portal_email"
        )
        self.assertEqual(sms.author_id, self.user_sender)
        self.assertEqual(set((sms | mail).mapped("state")), {"sent"})
        # what arrived, and in which order: every SMS before any email
        self.assertEqual(self.sms_numbers(), ["+32470112233", "+32470123456"])
        self.assertEqual(self.arrivals, ["sms", "sms", "email", "email"])
        (text,) = self.sms_texts("+32470123456")
        self.assertIn("Fiber cut in North Town from", text)
        self.assertIn("until about", text)
        (email,) = self.received("alice@example.com")
        self.assertEqual(email["Subject"], "Service outage: Fiber cut in North Town")
        body = self.html_body(email)
        self.assertIn("Dear Alice Person", body)
        self.assertIn("A cable was cut by road works.", body)
        self.assertIn("Expected end:", body)
        self.assertEqual(len(self.received("carol@example.com")), 1)
        self.assertFalse(self.received("bob@example.com"))
        self.assertFalse(self.received("former@example.com"))
        # published in the portal, and the history shows the incident
        line = mail.recipient_ids.filtered(lambda r: r.partner_id == self.alice)
        self.assertTrue(line.portal_message_id)
        self.assertEqual(incident.audience_partner_ids, self.alice | self.carol)
        self.assertEqual(incident.audience_count, 2)
        self.assertEqual(incident.notice_count, 2)
        notices = incident.action_view_notices()
        self.assertEqual(
            self.env["customer.message"].search(notices["domain"]), sms | mail
        )
        self.assertEqual(
            self.env["res.partner"].search(incident.action_view_affected()["domain"]),
            self.alice | self.carol,
        )

    def test_large_audience_sms_first_by_the_cron(self):
        """More customers than are sent at once: the two messages go to the
        sending cron, which sends the SMS first."""
        belgium = self.env.ref("base.be")
        self.env["res.partner"].create(
            [
                {
                    "name": f"Customer {number}",
                    "customer_status": "active",
                    "email": f"customer{number}@example.com",
                    "phone": f"+32 470 00 00 {number:02d}",
                    "country_id": belgium.id,
                    "location_id": self.location_south.id,
                }
                for number in range(55)
            ]
        )
        incident = self._incident(locations=self.location_south)
        self.assertEqual(incident.affected_count, 56)
        incident.action_send_notice()
        self.assertFalse(self.arrivals, "handed to the cron")
        self.env["customer.message"]._cron_process()
        self.assertEqual(self.arrivals, ["sms"] * 56 + ["email"] * 56)
        self.assertEqual(set(incident.notice_message_ids.mapped("state")), {"sent"})

    def test_updates_and_resolved_go_to_the_first_audience(self):
        incident = self._incident()
        incident.action_send_notice()
        # Alice moves away, Bob moves in: the notices still go to the first
        # audience
        self.alice.location_id = self.location_south
        self.bob.location_id = self.location_north
        FakeGateway.received.clear()
        self.smtp_handler.messages.clear()
        self.arrivals.clear()
        with self.assertRaises(UserError):
            incident.action_send_update()  # nothing written yet
        incident.update_note = "The cable is repaired, services come back soon."
        incident.action_send_update()
        self.assertEqual(self.sms_numbers(), ["+32470112233", "+32470123456"])
        self.assertEqual(
            self.sms_texts("+32470123456")[0],
            f"{self.company.name}, update on Fiber cut in North Town: "
            "The cable is repaired, services come back soon.",
        )
        self.assertEqual(self.arrivals, ["sms", "sms", "email", "email"])
        (email,) = self.received("alice@example.com")
        self.assertEqual(email["Subject"], "Update: Fiber cut in North Town")
        self.assertIn("services come back soon", self.html_body(email))
        self.assertFalse(self.received("bob@example.com"))
        self.assertEqual(incident.update_count, 1)
        # the same update again is refused; a new one is sent
        with self.assertRaises(UserError):
            incident.action_send_update()
        incident.update_note = "All services are back in the area."
        incident.action_send_update()
        self.assertEqual(incident.update_count, 2)
        self.assertEqual(len(self.received("carol@example.com")), 2)

        FakeGateway.received.clear()
        self.smtp_handler.messages.clear()
        incident.action_send_resolved()
        self.assertEqual(incident.state, "resolved")
        self.assertTrue(incident.date_resolved)
        self.assertEqual(self.sms_numbers(), ["+32470112233", "+32470123456"])
        (email,) = self.received("alice@example.com")
        self.assertEqual(email["Subject"], "Resolved: Fiber cut in North Town")
        self.assertFalse(self.received("bob@example.com"))
        self.assertEqual(
            incident.notice_message_ids.mapped("idempotency_key"),
            [
                f"incident-{incident.id}-{notice}-{number}-{channel}"
                for notice, number in (
                    ("resolved", 0),
                    ("update", 2),
                    ("update", 1),
                    ("notice", 0),
                )
                for channel in ("portal_email", "sms")
            ],
        )
        with self.assertRaises(UserError):
            incident.action_send_update()

    def test_double_send_sends_once(self):
        incident = self._incident()
        incident.action_send_notice()
        incident.action_send_notice()  # a double click
        self.assertEqual(len(incident.notice_message_ids), 2)
        self.assertEqual(len(self.received("alice@example.com")), 1)
        self.assertEqual(len(self.sms_texts("+32470123456")), 1)
        # even sent again from the start: the keys return the first messages
        incident.sudo().write({"notice_date": False, "state": "draft"})
        messages = incident._send_first_notice()
        self.assertEqual(messages, incident.notice_message_ids)
        self.assertEqual(len(incident.notice_message_ids), 2)
        self.assertEqual(len(self.received("alice@example.com")), 1)
        self.assertEqual(len(self.sms_texts("+32470123456")), 1)

        incident.update_note = "Repairs under way."
        incident.action_send_update()
        # the update sent twice at once (the same number): once
        incident._send_notice("update", number=1)
        self.assertEqual(len(self.received("alice@example.com")), 2)

        incident.action_send_resolved()
        incident.action_send_resolved()
        self.assertEqual(len(incident.notice_message_ids), 6)
        self.assertEqual(len(self.received("alice@example.com")), 3)
        self.assertEqual(len(self.sms_texts("+32470123456")), 3)

    def test_planned_maintenance_notice_by_cron(self):
        now = fields.Datetime.now().replace(microsecond=0)
        start = now + timedelta(hours=5)
        incident = self._incident(
            name="Router upgrade",
            kind="maintenance",
            date_start=start,
            date_end=start + timedelta(hours=2),
            notify_hours=2,
        )
        self.assertEqual(incident.notify_date, start - timedelta(hours=2))
        incident.action_schedule_notice()
        self.assertEqual(incident.state, "planned")
        with freeze_time(now + timedelta(hours=1), tick=True):
            self._run_cron()
        self.assertEqual(incident.state, "planned", "not due yet")
        self.assertFalse(incident.notice_message_ids)
        self.assertFalse(self.arrivals)

        with freeze_time(start - timedelta(hours=2, minutes=-1), tick=True):
            self._run_cron()
            self._run_cron()
            # the notices are recorded with the state, and sent by the
            # processing cron
            self.assertFalse(self.arrivals)
            self.env["customer.message"]._cron_process()
        self.assertEqual(incident.state, "announced")
        sms, mail = incident.notice_message_ids.sorted("id")
        self.assertEqual((sms | mail).mapped("origin"), ["automated", "automated"])
        self.assertEqual(sms.author_id, self.user_sender)
        self.assertEqual(self.arrivals, ["sms", "sms", "email", "email"])
        (email,) = self.received("alice@example.com")
        self.assertEqual(email["Subject"], "Planned maintenance: Router upgrade")
        self.assertIn("We will carry out maintenance", self.html_body(email))

        # the start comes: ongoing, nothing sent again
        with freeze_time(start + timedelta(minutes=1), tick=True):
            self._run_cron()
        self.assertEqual(incident.state, "ongoing")
        self.assertEqual(len(incident.notice_message_ids), 2)
        self.assertEqual(len(self.received("alice@example.com")), 1)
        self.assertEqual(len(FakeGateway.received), 2)

    def test_scheduled_notice_that_cannot_go_returns_to_draft(self):
        start = fields.Datetime.now() + timedelta(hours=1)
        incident = self._incident(kind="maintenance", date_start=start, notify_hours=2)
        incident.action_schedule_notice()
        self.carol.customer_status = self.alice.customer_status = "inactive"
        self._run_cron()
        self.assertEqual(incident.state, "draft")
        self.assertTrue(
            any("could not be sent" in note.body for note in incident.message_ids)
        )
        self.assertFalse(incident.notice_message_ids)
        # an outage is not scheduled, it is announced at once
        with self.assertRaises(UserError):
            self._incident(name="Cut").action_schedule_notice()

    def test_plain_user_and_manager_rights(self):
        incident = self._incident()
        self.assertEqual(incident.env.user, self.user_sender)
        incident.action_send_notice()
        incident.update_note = "Repairs under way."
        incident.action_send_update()
        incident.action_send_resolved()
        self.assertEqual(len(incident.notice_message_ids), 6)
        with self.assertRaises(AccessError):
            incident.unlink()
        incident.with_user(self.user_manager).unlink()
        self.assertFalse(incident.exists())
        # the notices stay in the history
        self.assertEqual(
            self.env["customer.message"].search_count(
                [("idempotency_key", "=like", f"incident-{incident.id}-%")]
            ),
            6,
        )

    def test_multi_company(self):
        other = self.env["res.company"].create({"name": "Other ISP"})
        other_user = new_test_user(
            self.env,
            login="cm_other",
            groups="base.group_user,customer_messages.customer_messages_group_user",
            company_id=other.id,
            company_ids=[Command.set(other.ids)],
        )
        location = self.env["customer.location"].create(
            {"name": "Far Town", "company_id": other.id}
        )
        self._create_customer(
            "Far Customer",
            email="far@example.com",
            company_id=other.id,
            location_id=location.id,
        )
        theirs = (
            self.env["customer.incident"]
            .with_user(other_user)
            .create({"name": "Far cut", "location_ids": location.ids})
        )
        self.assertEqual(theirs.company_id, other)
        self.assertEqual(theirs.affected_count, 1)
        ours = self._incident()
        Incident = self.env["customer.incident"].with_user(self.user_sender)
        self.assertEqual(Incident.search([]), ours)
        with self.assertRaises(AccessError):
            theirs.with_user(self.user_sender).name  # noqa: B018
        self.assertEqual(
            self.env["customer.incident"].with_user(other_user).search([]), theirs
        )


@tagged("customer_messages", "post_install", "-at_install")
class TestIncidentPortal(HttpCase, IncidentCase):
    """The banner of an open incident, over HTTP, for the customers it was
    notified to only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for partner, login in ((cls.carol, "portal_carol"), (cls.bob, "portal_bob")):
            new_test_user(
                cls.env,
                login=login,
                groups="base.group_portal",
                partner_id=partner.id,
                name=partner.name,
                email=partner.email,
                context={"no_reset_password": True},
            )

    def assertBanner(self, login, url, expected):
        self.authenticate(login, login)
        page = self.url_open(url)
        self.assertEqual(page.status_code, 200)
        if expected:
            self.assertIn("o_customer_incident_banner", page.text)
            self.assertIn("Fiber cut in North Town", page.text)
            self.assertIn("A cable was cut by road works.", page.text)
        else:
            self.assertNotIn("o_customer_incident_banner", page.text)
            self.assertNotIn("Fiber cut in North Town", page.text)
        return page

    def test_banner_values_on_its_pages_only(self):
        """Other portal pages run no query of incidents; the home and the
        Messages pages still show the banner."""
        self._incident().action_send_notice()
        Incident = self.registry["customer.incident"]
        original = Incident._get_portal_incidents
        calls = []

        def counting(model, partner):
            calls.append(partner.id)
            return original(model, partner)

        with patch.object(Incident, "_get_portal_incidents", counting):
            self.assertBanner("portal_carol", "/my/account", False)
            self.assertBanner("portal_carol", "/my/invoices", False)
            self.assertEqual(calls, [], "no incident read on other pages")
            self.assertBanner("portal_carol", "/my", True)
            self.assertBanner("portal_carol", "/my/messages", True)
            self.assertEqual(calls, [self.carol.id] * 2)

    def test_banner(self):
        incident = self._incident()
        self.assertBanner("portal_carol", "/my", False)  # not announced yet
        incident.action_send_notice()
        self.assertBanner("portal_carol", "/my", True)
        self.assertBanner("portal_carol", "/my/messages", True)
        line = incident.notice_message_ids.filtered(
            lambda m: m.channel == "portal_email"
        ).recipient_ids.filtered(lambda r: r.partner_id == self.carol)
        self.assertBanner("portal_carol", line.access_url, True)
        self.assertBanner("portal_bob", "/my", False)
        self.assertBanner("portal_bob", "/my/messages", False)
        # the update shows; Bob moving in does not make it his
        self.bob.location_id = self.location_north
        incident.update_note = "Technicians on site."
        incident.action_send_update()
        page = self.assertBanner("portal_carol", "/my", True)
        self.assertIn("Technicians on site.", page.text)
        self.assertBanner("portal_bob", "/my", False)
        # portal customers read no incident themselves
        portal_user = self.env["res.users"].search([("login", "=", "portal_carol")])
        with self.assertRaises(AccessError):
            incident.with_user(portal_user).name  # noqa: B018
        incident.action_send_resolved()
        self.assertBanner("portal_carol", "/my", False)
