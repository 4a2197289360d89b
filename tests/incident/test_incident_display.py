from odoo import fields
from odoo.tests import tagged

from ..common import SendingCase

NOTICE_SUBJECT = (
    "{{ incident.kind == 'maintenance' and 'Planned maintenance' "
    "or 'Service outage' }}: {{ incident.name }}"
)


@tagged("customer_messages", "post_install", "-at_install")
class TestIncidentDisplay(SendingCase):
    """The incident's Notices and the History read a notice's subject
    rendered with its incident (the core's display rule, through the hook
    ``_get_render_context``), never its raw placeholders."""

    def test_notice_titles(self):
        incident = self.env["customer.incident"].create(
            {
                "name": "Fiber cut in North Town",
                "kind": "outage",
                "location_ids": [fields.Command.set(self.location_north.ids)],
            }
        )
        notice, update = (
            self.env["customer.message"]
            .create(
                [
                    {"subject": NOTICE_SUBJECT, "incident_id": incident.id},
                    {
                        "subject": "Update: {{ incident.name }}",
                        "incident_id": incident.id,
                    },
                ]
            )
            .with_user(self.user_sender)
        )
        self.assertEqual(
            notice.display_subject, "Service outage: Fiber cut in North Town"
        )
        self.assertEqual(update.display_name, "Update: Fiber cut in North Town")
        incident.kind = "maintenance"
        notice.invalidate_recordset(["display_subject"])
        self.assertEqual(
            notice.display_subject, "Planned maintenance: Fiber cut in North Town"
        )
        # twin: the same subject without its incident renders nothing of it
        # and keeps no raw placeholder
        orphan = self.env["customer.message"].create({"subject": NOTICE_SUBJECT})
        self.assertNotIn("{{", orphan.with_user(self.user_sender).display_subject)
