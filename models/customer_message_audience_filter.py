from odoo import fields, models
from odoo.fields import Domain

# The customer filters of the composer's mass mode and of recurring messages.
# A new filter is a field of the mixin and a row here: the recipients'
# domain and its description in the history follow these tables.
# Ticked choices: {customer field: {boolean field: value}}
CHOICE_FILTERS = {
    "customer_status": {
        "status_new": "new",
        "status_active": "active",
        "status_inactive": "inactive",
        "status_blocked": "blocked",
    },
    "billing_type": {"billing_recurring": "recurring", "billing_prepaid": "prepaid"},
    "service_ids.service_type": {
        "service_internet": "internet",
        "service_voice": "voice",
        "service_custom": "custom",
    },
}
# Typed or picked values: (field, customer field, operator); a model using
# the mixin may add the rows of its own fields (partner_ids, reseller_ids)
VALUE_FILTERS = [
    ("partner_ids", "id", "in"),
    ("filter_login", "customer_login", "ilike"),
    ("filter_name", "name", "ilike"),
    ("filter_email", "email", "ilike"),
    ("filter_phone", "phone", "ilike"),
    ("date_added_from", "customer_since", ">="),
    ("date_added_to", "customer_since", "<="),
    ("reseller_ids", "reseller_id", "in"),
    ("location_ids", "location_id", "in"),
    ("tariff_ids", "service_ids.tariff_id", "in"),
]
FILTER_FIELDS = (
    *(choice for choices in CHOICE_FILTERS.values() for choice in choices),
    *(fname for fname, _field, _operator in VALUE_FILTERS),
    "category",
)


class CustomerMessageAudienceFilter(models.AbstractModel):
    """The customer filters staff pick recipients with: statuses, billing,
    name, contact details, date added, category, locations, tariff plans,
    services. Shared by the composer's mass mode and recurring messages
    (which resolve them again at each run). Resellers are each model's own
    field (a many2many to contacts beside the customers picked)."""

    _name = "customer.message.audience.filter"
    _description = "Customer Message Audience Filter"

    filter_login = fields.Char(string="Login")
    status_new = fields.Boolean(string="New")
    status_active = fields.Boolean(string="Active")
    status_inactive = fields.Boolean(string="Inactive")
    status_blocked = fields.Boolean(string="Blocked")
    billing_recurring = fields.Boolean(string="Recurring payments")
    billing_prepaid = fields.Boolean(string="Prepaid")
    filter_name = fields.Char(string="Full name")
    filter_email = fields.Char(string="Email")
    filter_phone = fields.Char(string="Phone number")
    date_added_from = fields.Date(string="Date added from")
    date_added_to = fields.Date(string="Date added to")
    category = fields.Selection(
        selection=[
            ("all", "All"),
            ("person", "Private person"),
            ("company", "Company"),
        ],
        default="all",
        required=True,
    )
    location_ids = fields.Many2many("customer.location", string="Locations")
    tariff_ids = fields.Many2many("customer.tariff", string="Tariff plans")
    service_internet = fields.Boolean(string="Internet service")
    service_voice = fields.Boolean(string="Voice service")
    service_custom = fields.Boolean(string="Custom service")

    def _get_filter_fields(self):
        """The filter fields this model has (the mixin's and its own)."""
        return [fname for fname in FILTER_FIELDS if fname in self._fields]

    def _get_filter_domain(self):
        """The customers the filters select, as a domain on res.partner."""
        self.ensure_one()
        domain = Domain("customer_status", "!=", False)
        for customer_field, choices in CHOICE_FILTERS.items():
            values = [value for choice, value in choices.items() if self[choice]]
            if values:
                domain &= Domain(customer_field, "in", values)
        for fname, customer_field, operator in VALUE_FILTERS:
            value = fname in self._fields and self[fname]
            if value:
                if isinstance(value, models.BaseModel):
                    value = value.ids
                domain &= Domain(customer_field, operator, value)
        if self.category != "all":
            domain &= Domain("is_company", "=", self.category == "company")
        return domain

    def _describe_filters(self):
        """The filters in words, one part each (kept in the history)."""
        self.ensure_one()

        def label(fname):
            return self._fields[fname].get_description(self.env)["string"]

        parts = []
        for customer_field, choices in CHOICE_FILTERS.items():
            chosen = [label(choice) for choice in choices if self[choice]]
            if chosen:
                title = (
                    self.env["res.partner"]
                    ._fields[customer_field.split(".")[0]]
                    .get_description(self.env)["string"]
                )
                parts.append(f"{title}: {', '.join(chosen)}")
        for fname, _customer_field, _operator in VALUE_FILTERS:
            value = fname in self._fields and self[fname]
            if value:
                if fname == "partner_ids":
                    value = ", ".join(str(partner_id) for partner_id in value.ids)
                elif isinstance(value, models.BaseModel):
                    value = ", ".join(value.mapped("display_name"))
                parts.append(f"{label(fname)}: {value}")
        if self.category != "all":
            category = dict(self._fields["category"]._description_selection(self.env))
            parts.append(f"{label('category')}: {category[self.category]}")
        return parts

    def _get_filter_values(self):
        """The filters as values for another model of the mixin (a recurring
        message made from a composition)."""
        self.ensure_one()
        values = {}
        for fname in self._get_filter_fields():
            value = self[fname]
            if isinstance(value, models.BaseModel):
                value = [fields.Command.set(value._origin.ids)]
            elif self._fields[fname].type == "date":
                value = fields.Date.to_string(value)
            values[fname] = value
        return values
