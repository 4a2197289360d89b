from odoo.tests import tagged

from .test_incidents import IncidentCase


@tagged("customer_messages", "post_install", "-at_install")
class TestIncidentEstimate(IncidentCase):
    """An incident shows how long its notice takes, before it is sent."""

    def test_incident_notice_time(self):
        Throttle = self.env["customer.message.throttle"]
        Throttle.create({"channel": "sms", "max_count": 1, "period": "minute"})
        email_limit = Throttle.create(
            {"mail_server_id": self.mail_server.id, "max_count": 1, "period": "hour"}
        )
        incident = self._incident()  # North Town: Alice and Carol
        self.assertEqual(
            incident.notice_eta,
            "2 emails at 1/h: about 2 h 0 min; 2 SMS at 1/min: about 2 min",
        )
        self.assertIn(
            "takes about 2 h 0 min to reach everyone", incident.notice_eta_warning
        )
        # positive twin: at 10 a second, in time
        email_limit.write({"max_count": 600, "period": "minute"})
        incident.invalidate_recordset(["notice_eta", "notice_eta_warning"])
        self.assertEqual(
            incident.notice_eta,
            "2 emails at 10/s: less than a minute; 2 SMS at 1/min: about 2 min",
        )
        self.assertFalse(incident.notice_eta_warning)
