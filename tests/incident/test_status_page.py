import re

from odoo.tests import HttpCase, new_test_user, tagged

from ...controllers.incident import status
from .test_incidents import IncidentCase


@tagged("customer_messages", "post_install", "-at_install")
class TestStatusPage(HttpCase, IncidentCase):
    """/status: public, no personal data, cached for visitors; a logged-in
    customer sees theirs first and follows another for its updates."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for partner, login in ((cls.alice, "status_alice"), (cls.bob, "status_bob")):
            new_test_user(
                cls.env,
                login=login,
                groups="base.group_portal",
                partner_id=partner.id,
                name=partner.name,
                email=partner.email,
                context={"no_reset_password": True},
            )

    def setUp(self):
        super().setUp()
        status._cache.clear()
        self.addCleanup(status._cache.clear)

    def _page(self):
        response = self.url_open("/status")
        self.assertEqual(response.status_code, 200)
        return response

    def test_public_page_lists_open_incidents_without_personal_data(self):
        self.authenticate(None, None)
        self.assertIn("No known outage", self._page().text)
        status._cache.clear()
        incident = self._incident()
        hidden = self._incident(name="Core router swap")
        hidden.status_page = False
        self.assertNotIn("Fiber cut", self._page().text, "a draft is not public")
        status._cache.clear()
        (incident | hidden).action_send_notice()
        response = self._page()
        self.assertEqual(response.headers["Cache-Control"], "public, max-age=30")
        page = response.text
        self.assertIn("Fiber cut in North Town", page)
        self.assertIn("A cable was cut by road works.", page)
        self.assertIn(self.location_north.name, page)
        self.assertNotIn("Core router swap", page, "hidden from the page")
        for private in ("Alice", "alice@example.com", "+32 470", "Carol"):
            self.assertNotIn(private, page)
        # visitors get the cached copy: an update shows once it expires
        incident.update_note = "Repairs under way."
        incident.action_send_update()
        self.assertNotIn("Repairs under way.", self._page().text)
        status._cache.clear()
        self.assertIn("Repairs under way.", self._page().text)
        incident.action_send_resolved()
        status._cache.clear()
        self.assertIn("No known outage", self._page().text)

    def test_customers_see_theirs_first_and_follow_others(self):
        incident = self._incident()
        incident.action_send_notice()
        self.authenticate("status_alice", "status_alice")
        page = self._page().text
        self.assertIn("Affecting your services", page)
        self.assertNotIn("Follow for updates", page, "notified already")

        # Bob lives elsewhere: he follows the incident and gets its update
        self.authenticate("status_bob", "status_bob")
        page = self._page().text
        self.assertNotIn("Affecting your services", page)
        self.assertIn("Follow for updates", page)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        url = f"/status/{incident.id}/follow"
        response = self.url_open(url, data={"follow": "1"})
        self.assertEqual(response.status_code, 400, "no CSRF token, no follow")
        self.assertFalse(incident.status_follower_ids)
        self.url_open(url, data={"follow": "1", "csrf_token": token})
        self.assertEqual(incident.status_follower_ids, self.bob)
        self.assertIn("Stop following", self._page().text)
        incident.update_note = "Repairs under way."
        incident.action_send_update()
        (update,) = self.received("bob@example.com")
        self.assertIn("Repairs under way.", self.html_body(update))
        self.url_open(url, data={"follow": "0", "csrf_token": token})
        self.assertFalse(incident.status_follower_ids)
        incident.action_send_resolved()
        self.assertEqual(len(self.received("bob@example.com")), 1, "unfollowed")

        # a visitor cannot follow; a hidden incident cannot be followed
        hidden = self._incident(name="Core router swap")
        hidden.status_page = False
        hidden.action_send_notice()
        self.url_open(
            f"/status/{hidden.id}/follow", data={"follow": "1", "csrf_token": token}
        )
        self.assertFalse(hidden.status_follower_ids)
        self.authenticate(None, None)
        response = self.url_open(url, data={"follow": "1"}, allow_redirects=False)
        self.assertIn(response.status_code, (303, 400))
        self.assertFalse(incident.status_follower_ids)
