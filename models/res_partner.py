import json

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.fields import Domain

CUSTOMER_STATUSES = [
    ("new", "New"),
    ("active", "Active"),
    ("inactive", "Inactive"),
    ("blocked", "Blocked"),
]
BILLING_TYPES = [("recurring", "Recurring payments"), ("prepaid", "Prepaid")]


# What the module's customer pickers also find customers by (with the context
# key customer_messages_search), beside Odoo's name, email, reference...
CUSTOMER_SEARCH_FIELDS = ("customer_login", "phone")


class ResPartner(models.Model):
    _inherit = "res.partner"

    customer_login = fields.Char(
        string="Customer login",
        copy=False,
        index="btree_not_null",
        tracking=True,
        help="The customer's login, unique in the company (letter case ignored).",
    )
    customer_status = fields.Selection(
        selection=CUSTOMER_STATUSES,
        string="Customer status",
        index=True,
        tracking=True,
        help="Set on ISP customers only: a contact without a status is not a customer "
        "of the ISP. Customers created from Messages > Customers start as New.",
    )
    billing_type = fields.Selection(
        selection=BILLING_TYPES, string="Billing type", tracking=True
    )
    is_reseller = fields.Boolean(
        string="Is a reseller",
        help="A service provider or reseller that customers can belong to.",
    )
    reseller_id = fields.Many2one(
        "res.partner",
        domain=[("is_reseller", "=", True)],
        index="btree_not_null",
        tracking=True,
        help="The service provider or reseller this customer belongs to.",
    )
    location_id = fields.Many2one(
        "customer.location",
        index="btree_not_null",
        tracking=True,
        groups="customer_messages.customer_messages_group_user",
    )
    customer_since = fields.Date(
        string="Date added",
        default=fields.Date.context_today,
        help="When the customer was added; may be set when importing customers.",
    )
    service_ids = fields.One2many(
        "customer.service",
        "partner_id",
        string="Services",
        groups="customer_messages.customer_messages_group_user",
    )
    service_count = fields.Integer(
        string="Services count",
        compute="_compute_service_count",
        groups="customer_messages.customer_messages_group_user",
    )

    customer_message_count = fields.Integer(
        string="Messages count",
        compute="_compute_customer_message_count",
        groups="customer_messages.customer_messages_group_user",
    )
    # the composer's "Preview as" picker: [("customer_message_sendable", "=",
    # '{"domain": [...], "channel": "email"}')] finds the customers of the
    # domain who can receive a message on the channel, in SQL
    customer_message_sendable = fields.Char(
        string="Receives the customer message",
        compute="_compute_customer_message_sendable",
        search="_search_customer_message_sendable",
        groups="customer_messages.customer_messages_group_user",
    )

    # the few customers with more than one address in their email field (see
    # customer.message _get_multiple_address_ids)
    _email_multiple_index = models.Index("(id) WHERE email LIKE '%@%@%'")
    _customer_login_company_uniq = models.UniqueIndex(
        "(lower(customer_login), COALESCE(company_id, 0)) "
        "WHERE customer_login IS NOT NULL",
        "This login is already used by another customer of the company.",
    )

    @api.depends("service_ids")
    def _compute_service_count(self):
        counts = dict(
            self.env["customer.service"]._read_group(
                [("partner_id", "in", self.ids)], ["partner_id"], ["__count"]
            )
        )
        for partner in self:
            partner.service_count = counts.get(partner, 0)

    def _compute_customer_message_sendable(self):
        # only searched (it needs the message's recipients and channel)
        for partner in self:
            partner.customer_message_sendable = False

    @api.model
    def _search_customer_message_sendable(self, operator, value):
        if operator not in ("=", "in") or not value:
            return NotImplemented
        Message = self.env["customer.message"]
        domain = Domain.FALSE
        for recipients in [value] if operator == "=" else value:
            try:
                recipients = json.loads(recipients)
                customers = Domain(recipients["domain"])
                channel = recipients["channel"]
            except (TypeError, ValueError, KeyError) as error:
                raise ValidationError(
                    self.env._("Not a filter of recipients: %(value)s", value=value)
                ) from error
            # the customers are searched with the user's rights
            domain |= Message.with_context(
                customer_messages_category_id=recipients.get("category_id")
            )._get_sendable_domain(self._search(customers), channel)
        return domain

    @api.model
    def _search_display_name(self, operator, value):
        # The module's pickers (customer_messages_search in the context) find
        # customers by Customer ID, login and phone too; other apps keep
        # Odoo's search by name.
        domain = super()._search_display_name(operator, value)
        if (
            not self.env.context.get("customer_messages_search")
            or operator not in ("ilike", "=ilike", "=", "like")
            or not isinstance(value, str)
            or not value.strip()
        ):
            return domain
        value = value.strip()
        extra = [Domain(fname, operator, value) for fname in CUSTOMER_SEARCH_FIELDS]
        if value.isdigit():
            extra.append(Domain("id", "=", int(value)))
        return Domain.OR([domain, *extra])

    @api.model
    def name_search(self, name="", domain=None, operator="ilike", limit=100):
        # In the module's pickers an exact Customer ID or login comes first:
        # typing 45 picks customer 45, whatever else matches "45".
        pairs = super().name_search(name, domain, operator, limit)
        value = (name or "").strip()
        if not self.env.context.get("customer_messages_search") or not value:
            return pairs
        exact = Domain("customer_login", "=ilike", value)
        if value.isdigit() and int(value) < 2**31:
            exact |= Domain("id", "=", int(value))
        first = self.search_fetch(
            exact & Domain(domain or Domain.TRUE), ["display_name"], limit=limit
        )
        if not first:
            return pairs
        ahead = [(partner.id, partner.display_name) for partner in first]
        rest = [pair for pair in pairs if pair[0] not in first.ids]
        return (ahead + rest)[:limit] if limit else ahead + rest

    @api.depends_context("customer_messages_search")
    def _compute_display_name(self):
        # the module's pickers show the Customer ID beside the name
        result = super()._compute_display_name()
        if self.env.context.get("customer_messages_search"):
            for partner in self.filtered(
                lambda partner: partner.id and partner.customer_status
            ):
                partner.display_name = self.env._(
                    "%(name)s (ID %(id)s)", name=partner.display_name, id=partner.id
                )
        return result

    @api.model
    def mail_allowed_qweb_expressions(self):
        # Placeholders that staff who are not template editors may use in
        # customer messages: the customer's own identification.
        return (
            *super().mail_allowed_qweb_expressions(),
            "object.id",
            "object.lang",
            "object.customer_login",
            "object.email",
            "object.phone",
            "object.commercial_partner_id.name",
            "object.reseller_id.name",
        )

    def _compute_customer_message_count(self):
        counts = dict(
            self.env["customer.message.recipient"]._read_group(
                [("partner_id", "in", self.ids), ("state", "!=", "removed")],
                ["partner_id"],
                ["__count"],
            )
        )
        for partner in self:
            partner.customer_message_count = counts.get(partner, 0)

    @api.model_create_multi
    def create(self, vals_list):
        if any(vals.get("is_reseller") for vals in vals_list):
            self._check_reseller_rights()
        return super().create(self._hook_prepare_create(vals_list))

    def _hook_prepare_create(self, vals_list):
        """Extension point of ``create``, the module's one override of it:
        refuse what the user may not set on new contacts, and complete the
        values (the date of a customer status: automation); returns them.
        Must not query unless the values hold the package's own fields."""
        return vals_list

    def write(self, vals):
        """The module's one override of ``res.partner.write``: every contact
        edit of every Odoo user goes through it, so it reads nothing unless
        the user is restricted or ``vals`` holds one of the module's fields.
        A package reacts to a write through these hooks, called here by
        name, never by overriding ``write`` itself:

        - ``_hook_check_write(vals)``: refuse what the user may not write;
        - ``_hook_before_write(vals)``: note what the write changes (a dict
          handed to the next hook), before it is made;
        - ``_hook_after_write(vals, before)``: follow the write up.
        """
        # only a plain Messages / User is restricted: nothing is read for
        # anybody else (every other user's contact edits cost nothing)
        if self._is_reseller_restricted() and (
            # sudo: whether a reseller is among them, whoever edits
            "is_reseller" in vals or any(self.sudo().mapped("is_reseller"))
        ):
            self._check_reseller_rights()
        self._hook_check_write(vals)
        before = self._hook_before_write(vals)
        result = super().write(vals)
        self._hook_after_write(vals, before)
        return result

    def _hook_check_write(self, vals):
        """Extension point of ``write``: raise when the user may not write
        ``vals`` on these contacts (incident audiences:
        res_partner_incident.py). Must not query unless ``vals`` holds the
        package's own fields."""

    def _hook_before_write(self, vals):
        """Extension point of ``write``: what the write is about to change,
        as a dict that ``_hook_after_write`` receives (the customers whose
        status changes: res_partner_reminders.py). Must not query unless
        ``vals`` holds the package's own fields.

        :return: dict
        """
        return {}

    def _hook_after_write(self, vals, before):
        """Extension point of ``write``: follow up a write made (the date of
        a status change: res_partner_reminders.py).

        :param dict before: what ``_hook_before_write`` returned
        """

    def _check_reseller_rights(self):
        if self._is_reseller_restricted():
            raise AccessError(
                self.env._("Only Messages / Managers may configure resellers.")
            )

    def _is_reseller_restricted(self):
        """Resellers are configured by Messages / Managers: a Messages / User
        neither marks a contact as reseller nor edits a reseller. Users
        outside the module's groups keep Odoo's rights on contacts."""
        user = self.env.user
        return (
            not self.env.su
            and user.has_group("customer_messages.customer_messages_group_user")
            and not user.has_group("customer_messages.customer_messages_group_manager")
        )

    @api.constrains("location_id", "company_id")
    def _check_location_company(self):
        # Contacts shared between companies (no company) may use any location
        # the user can see; a company's contact only its company's locations.
        for partner in self.sudo():
            # sudo: the location field is restricted to Messages users, while
            # any user editing the contact's company must pass this check.
            location = partner.location_id
            if (
                partner.company_id
                and location
                and location.company_id != partner.company_id
            ):
                raise ValidationError(
                    self.env._(
                        "The location %(location)s belongs to %(location_company)s, "
                        "not to %(company)s like the customer %(customer)s.",
                        location=location.display_name,
                        location_company=location.company_id.display_name,
                        company=partner.company_id.display_name,
                        customer=partner.display_name,
                    )
                )

    def action_view_customer_messages(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_messages.customer_message_recipient_action"
        )
        action["domain"] = [("partner_id", "=", self.id)]
        return action

    def action_send_customer_message(self):
        """The composer, this customer picked (the form's Send message)."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_messages.customer_message_composer_action_partner"
        )
        action["context"] = {
            "active_model": self._name,
            "active_id": self.id,
            "active_ids": self.ids,
        }
        return action

    def action_view_services(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_messages.customer_service_action"
        )
        action["domain"] = [("partner_id", "=", self.id)]
        action["context"] = {"default_partner_id": self.id}
        return action
