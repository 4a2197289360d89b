from odoo.tests import tagged

from .common import CustomerMessagesCommon


@tagged("customer_messages", "at_install", "-post_install")
class TestOverrides(CustomerMessagesCommon):
    """What the module's overrides of Odoo leave to users who never send a
    customer message: Odoo's renderings as they were."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls._create_customer("Ada Render", email="ada@example.com")

    def test_odoo_renderings_have_no_incident(self):
        template = self.env["mail.template"].create(
            {
                "name": "Not ours",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "subject": "Hello {{ object.name }}",
            }
        )
        self.assertNotIn("incident", template._render_eval_context())
        composer = self.env["mail.compose.message"]
        self.assertNotIn("incident", composer._render_eval_context())
        rendered = template._render_field("subject", self.customer.ids)
        self.assertEqual(rendered[self.customer.id], "Hello Ada Render")

    def test_incident_templates_render_outside_a_notice(self):
        # its twin: a template naming the incident is saved and rendered
        # (an empty incident outside a notice)
        template = self.env["mail.template"].create(
            {
                "name": "Ours",
                "model_id": self.env["ir.model"]._get_id("res.partner"),
                "subject": "{{ incident.name or 'no incident' }}",
            }
        )
        rendered = template._render_field("subject", self.customer.ids)
        self.assertEqual(rendered[self.customer.id], "no incident")

    def test_customer_message_renderings_have_the_incident(self):
        # its twin: the module's renderings read ``incident`` (empty here)
        message = self.env["customer.message"].new(
            {"subject": "{{ incident.name or 'no incident' }}"}
        )
        rendered = message._render_for_partners(self.customer)
        self.assertEqual(rendered[self.customer.id]["subject"], "no incident")
