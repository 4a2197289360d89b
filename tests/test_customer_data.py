from datetime import date

from lxml import etree
from psycopg2.errors import CheckViolation, UniqueViolation

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger
from odoo.tools.safe_eval import safe_eval

from .common import CustomerMessagesCommon


@tagged("customer_messages", "at_install", "-post_install")
class TestCustomerData(CustomerMessagesCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.alice = cls._create_customer(
            "Alice Person",
            tariffs=cls.tariff_fiber | cls.tariff_voice,
            customer_login="alice",
            billing_type="recurring",
            location_id=cls.location_north.id,
            reseller_id=cls.reseller.id,
            customer_since=date(2024, 3, 5),
        )
        cls.bob = cls._create_customer(
            "Bob Company",
            tariffs=cls.tariff_dsl,
            customer_login="bob",
            billing_type="prepaid",
            is_company=True,
            location_id=cls.location_south.id,
            customer_since=date(2025, 1, 20),
        )
        cls.carol = cls._create_customer(
            "Carol Blocked",
            tariffs=cls.tariff_ip,
            customer_login="carol",
            billing_type="recurring",
            location_id=cls.location_north.id,
            customer_since=date(2025, 6, 1),
        )
        cls.carol.customer_status = "blocked"
        cls.customers = cls.alice | cls.bob | cls.carol
        # end the creation's tracking, as a commit would, so that later writes
        # are tracked as changes
        cls.env.flush_all()
        cls.env.cr.flush()

    def _search(self, domain):
        return self.env["res.partner"].search(
            [("id", "in", self.customers.ids), *domain]
        )

    @mute_logger("odoo.sql_db")
    def test_login_unique_case_insensitive(self):
        with self.assertRaises(UniqueViolation) as caught, self.env.cr.savepoint():
            self.env["res.partner"].create(
                {"name": "Copycat", "customer_login": "ALICE"}
            )
        # what Odoo tells the user who saved the record
        self.assertEqual(
            self.env["res.partner"]._sql_error_to_message(caught.exception),
            "This login is already used by another customer of the company.",
        )
        # the same login is allowed in another company
        other_company = self.env["res.company"].create({"name": "Other ISP"})
        twin = self.env["res.partner"].create(
            {"name": "Twin", "customer_login": "alice", "company_id": other_company.id}
        )
        self.assertEqual(twin.customer_login, "alice")
        # and for another login in the same company
        self.env["res.partner"].create({"name": "Alicia", "customer_login": "alice2"})

    def test_customer_defaults_from_menu(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_messages.res_partner_action_customers"
        )
        context = safe_eval(action["context"])
        partners = self.env["res.partner"].with_user(self.user_messages)
        form = Form(partners.with_context(**context))
        form.name = "Walk-in Customer"
        customer = form.save()
        self.assertEqual(customer.customer_status, "new")
        self.assertEqual(customer.customer_since, date.today())
        self.assertIn(customer, partners.search(safe_eval(action["domain"])))

    def test_status_tracked(self):
        self.alice.customer_status = "inactive"
        self.env.flush_all()
        self.env.cr.flush()  # tracking values are written at commit
        tracked = self.env["mail.tracking.value"].search(
            [
                ("mail_message_id.model", "=", "res.partner"),
                ("mail_message_id.res_id", "=", self.alice.id),
                ("field_id.name", "=", "customer_status"),
            ]
        )
        self.assertEqual(len(tracked), 1)
        self.assertEqual(tracked.old_value_char, "Active")
        self.assertEqual(tracked.new_value_char, "Inactive")

    def test_filters(self):
        self.assertEqual(self._search([("id", "=", self.bob.id)]), self.bob)
        self.assertEqual(self._search([("customer_login", "ilike", "CAR")]), self.carol)
        self.assertEqual(
            self._search([("customer_status", "=", "active")]), self.alice | self.bob
        )
        self.assertEqual(
            self._search([("customer_status", "=", "blocked")]), self.carol
        )
        self.assertEqual(self._search([("billing_type", "=", "prepaid")]), self.bob)
        self.assertEqual(
            self._search([("billing_type", "=", "recurring")]), self.alice | self.carol
        )
        self.assertEqual(self._search([("is_company", "=", True)]), self.bob)
        self.assertEqual(
            self._search([("is_company", "=", False)]), self.alice | self.carol
        )
        self.assertEqual(
            self._search([("reseller_id", "=", self.reseller.id)]), self.alice
        )
        self.assertEqual(
            self._search([("location_id", "=", self.location_north.id)]),
            self.alice | self.carol,
        )
        self.assertEqual(
            self._search(
                [
                    (
                        "service_ids.tariff_id",
                        "in",
                        (self.tariff_dsl | self.tariff_ip).ids,
                    )
                ]
            ),
            self.bob | self.carol,
        )
        self.assertEqual(
            self._search([("service_ids.service_type", "=", "voice")]), self.alice
        )
        self.assertEqual(
            self._search([("service_ids.service_type", "=", "custom")]), self.carol
        )
        self.assertEqual(
            self._search(
                [
                    ("customer_since", ">=", date(2025, 1, 1)),
                    ("customer_since", "<", date(2025, 7, 1)),
                ]
            ),
            self.bob | self.carol,
        )
        self.assertEqual(self.alice.service_count, 2)
        self.assertEqual(self.location_north.partner_count, 2)
        self.assertEqual(self.tariff_fiber.service_count, 1)

    def test_find_customer(self):
        """The composer's customer field finds a customer by Customer ID,
        login, name, email or phone."""
        self.alice.write({"email": "alice@example.com", "phone": "+1 555 0142"})
        Partner = (
            self.env["res.partner"]
            .with_user(self.user_messages)
            .with_context(customer_messages_search=True)
        )
        for search in (
            str(self.alice.id),
            "alice",
            "Alice Pers",
            "alice@example",
            "555 0142",
        ):
            found = Partner.name_search(search, limit=50)
            self.assertIn(
                self.alice.id, [partner_id for partner_id, _name in found], search
            )

    def test_exact_id_comes_first(self):
        """Typing a Customer ID (or login) picks that customer, first in the
        dropdown with its ID shown, however many others match the digits;
        other apps keep Odoo's names."""
        target = self._create_customer("Zed Last", customer_login="zed")
        digits = str(target.id)
        for index in range(10):
            # names sorted before it, phones and logins holding its digits
            self._create_customer(
                f"Aaron {index}",
                customer_login=f"a{digits}{index}",
                phone=f"+1 555 {digits}{index}",
            )
        Partner = (
            self.env["res.partner"]
            .with_user(self.user_sender)
            .with_context(customer_messages_search=True)
        )
        for typed in (digits, "ZED"):
            found = Partner.web_name_search(
                typed,
                {"display_name": {}},
                domain=[("customer_status", "!=", False)],
                limit=8,
            )
            self.assertEqual(found[0]["id"], target.id, typed)
            self.assertEqual(found[0]["display_name"], f"Zed Last (ID {target.id})")
        self.assertEqual(
            self.env["res.partner"]
            .with_user(self.user_sender)
            .browse(target.id)
            .display_name,
            "Zed Last",
        )

    def test_search_view_filters(self):
        """Every filter of the Customers search view is a valid domain that
        finds the customers it names."""
        view = self.env.ref("customer_messages.res_partner_view_search")
        views = self.env["res.partner"].get_views([(view.id, "search")])
        arch = etree.fromstring(views["views"]["search"]["arch"])
        for name, expected in [
            ("status_blocked", self.carol),
            ("billing_prepaid", self.bob),
            ("service_voice", self.alice),
            ("service_custom", self.carol),
            ("type_company", self.bob),
        ]:
            (node,) = arch.xpath(f"//filter[@name='{name}']")
            self.assertEqual(
                self._search(safe_eval(node.get("domain"))), expected, name
            )

    def test_multi_company(self):
        other_company = self.env["res.company"].create({"name": "Other ISP"})
        foreign_location = self.env["customer.location"].create(
            {"name": "Elsewhere", "company_id": other_company.id}
        )
        foreign_tariff = self.env["customer.tariff"].create(
            {"name": "Foreign plan", "company_id": other_company.id}
        )
        customer = self.env["res.partner"].create(
            {
                "name": "Local customer",
                "company_id": self.company.id,
                "customer_status": "new",
            }
        )
        with self.assertRaisesRegex(ValidationError, "Elsewhere"):
            customer.location_id = foreign_location
        with self.assertRaisesRegex(UserError, "company inconsistencies"):
            self.env["customer.service"].create(
                {"partner_id": customer.id, "tariff_id": foreign_tariff.id}
            )
        # a user of the first company only does not see the other's records
        self.assertNotIn(
            foreign_location,
            self.env["customer.location"].with_user(self.user_manager).search([]),
        )
        self.assertNotIn(
            foreign_tariff,
            self.env["customer.tariff"].with_user(self.user_manager).search([]),
        )
        # the twin: the first company's location and tariff plan are accepted
        # and seen
        customer.location_id = self.location_north
        service = self.env["customer.service"].create(
            {"partner_id": customer.id, "tariff_id": self.tariff_dsl.id}
        )
        self.assertIn(service, customer.service_ids)
        self.assertEqual(service.tariff_id, self.tariff_dsl)
        self.assertIn(
            self.location_north,
            self.env["customer.location"].with_user(self.user_manager).search([]),
        )

    def test_service_dates(self):
        with (
            self.assertRaises(CheckViolation),
            mute_logger("odoo.sql_db"),
            self.env.cr.savepoint(),
        ):
            self.env["customer.service"].create(
                {
                    "partner_id": self.alice.id,
                    "tariff_id": self.tariff_dsl.id,
                    "start_date": date(2025, 5, 1),
                    "end_date": date(2025, 4, 1),
                }
            )
        # the twin: an end after the start is accepted
        service = self.env["customer.service"].create(
            {
                "partner_id": self.alice.id,
                "tariff_id": self.tariff_dsl.id,
                "start_date": date(2025, 4, 1),
                "end_date": date(2025, 5, 1),
            }
        )
        self.assertEqual(service.end_date, date(2025, 5, 1))

    def test_access(self):
        # a plain internal user cannot see or edit the configuration
        for model in ("customer.tariff", "customer.location", "customer.service"):
            with self.assertRaises(AccessError):
                self.env[model].with_user(self.user_internal).search([])
        # nor the ISP fields that need it, while the partner itself stays readable
        partner = self.alice.with_user(self.user_internal)
        self.assertEqual(partner.name, "Alice Person")
        with self.assertRaises(AccessError):
            partner.read(["location_id"])
        # a Messages user reads the configuration but cannot change it
        tariff = self.tariff_fiber.with_user(self.user_messages)
        self.assertEqual(tariff.name, "Fiber 500")
        with self.assertRaises(AccessError):
            tariff.price = 1.0
        with self.assertRaises(AccessError):
            self.env["customer.location"].with_user(self.user_messages).create(
                {"name": "X"}
            )
        # a manager configures
        self.env["customer.tariff"].with_user(self.user_manager).create(
            {"name": "New plan"}
        )
        self.location_south.with_user(self.user_manager).name = "South City"
