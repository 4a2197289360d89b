from odoo.tests import new_test_user
from odoo.tests.common import TransactionCase


class CustomerMessagesCommon(TransactionCase):
    """Users of every access level and a small ISP: a location, tariff plans,
    a reseller, built by the tests themselves (demo data is never relied on)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.user_internal = new_test_user(
            cls.env, login="cm_internal", groups="base.group_user", name="Plain Internal"
        )
        cls.user_messages = new_test_user(
            cls.env,
            login="cm_user",
            groups="base.group_user,customer_messages.customer_messages_group_user",
            name="Messages User",
            email="cm.user@example.com",
        )
        cls.user_manager = new_test_user(
            cls.env,
            login="cm_manager",
            groups="base.group_user,customer_messages.customer_messages_group_manager",
            name="Messages Manager",
            email="cm.manager@example.com",
        )
        cls.location_north, cls.location_south = cls.env["customer.location"].create(
            [{"name": "North Town", "code": "NT"}, {"name": "South Town", "code": "ST"}]
        )
        cls.tariff_fiber, cls.tariff_dsl, cls.tariff_voice, cls.tariff_ip = cls.env[
            "customer.tariff"
        ].create(
            [
                {"name": "Fiber 500", "service_type": "internet", "price": 39.0},
                {"name": "DSL 16", "service_type": "internet", "price": 19.0},
                {"name": "Voice Flat", "service_type": "voice", "price": 9.0},
                {"name": "Static IP", "service_type": "custom", "price": 5.0},
            ]
        )
        cls.reseller = cls.env["res.partner"].create(
            {"name": "Northern Reseller", "is_company": True, "is_reseller": True}
        )

    @classmethod
    def _create_customer(cls, name, tariffs=(), **values):
        """A customer with services on the given tariff plans."""
        customer = cls.env["res.partner"].create(
            {"name": name, "customer_status": "active", **values}
        )
        cls.env["customer.service"].create(
            [{"partner_id": customer.id, "tariff_id": tariff.id, "status": "active"} for tariff in tariffs]
        )
        return customer
