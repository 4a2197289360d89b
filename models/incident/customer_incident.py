from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain
from odoo.tools import SQL

from odoo.addons.base.models.res_partner import _tz_get

SERVICE_TYPES = {
    "service_internet": "internet",
    "service_voice": "voice",
    "service_custom": "custom",
}
OPEN_STATES = ("announced", "ongoing")
# What the incident's actions move: users never write them (see write), the
# audience follows from the scope and the state from the notices sent.
PROGRESS_FIELDS = (
    "state",
    "audience_partner_ids",
    "notice_date",
    "update_count",
    "last_update_note",
    "date_resolved",
)
# The values of those fields that a new incident may be created with
DRAFT = (False, None, 0, "", "draft", [])


class CustomerIncident(models.Model):
    """An outage or a planned maintenance and the notices sent about it.

    The affected customers are found by the incident's scope (locations,
    tariff plans, service types: ``_get_affected_domain``). The first notice
    freezes them (``audience_partner_ids``): the updates and the resolved
    notice go to the same customers, even if they moved since. Each notice
    is two messages of ``customer.message._send_to_customers``, SMS first,
    then email and portal, each with an idempotency key: a double click or
    a cron running twice sends once.

    This file: the record, its scope and audience, its actions and the
    portal banner; the notices and their cron (a
    ``customer.message.clock.mixin`` due at ``notify_date``):
    ``customer_incident_notice.py``."""

    _name = "customer.incident"
    _description = "Outage or maintenance"
    _inherit = [
        "mail.thread",
        "customer.message.setup.mixin",
        "customer.message.clock.mixin",
    ]
    _order = "date_start desc, id desc"
    _check_company_auto = True
    _customer_message_bounds = {"notify_hours": (0, 8760)}
    _customer_message_responsible_field = "user_id"

    name = fields.Char(required=True, tracking=True)
    kind = fields.Selection(
        selection=[
            ("maintenance", "Planned maintenance"),
            ("outage", "Unplanned outage"),
        ],
        required=True,
        default="outage",
        tracking=True,
    )
    state = fields.Selection(
        selection=[
            ("draft", "Draft"),
            ("planned", "Notice scheduled"),
            ("announced", "Announced"),
            ("ongoing", "Ongoing"),
            ("resolved", "Resolved"),
        ],
        default="draft",
        required=True,
        readonly=True,
        index=True,
        copy=False,
        tracking=True,
    )
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self.env.user,
        help="The author of the notices sent automatically (only a manager "
        "names someone else than themselves).",
    )
    date_start = fields.Datetime(
        string="Start", required=True, default=fields.Datetime.now, tracking=True
    )
    date_end = fields.Datetime(string="Expected end", tracking=True)
    date_resolved = fields.Datetime(string="Resolved on", readonly=True, copy=False)
    tz = fields.Selection(
        selection=_tz_get,
        string="Timezone",
        required=True,
        default=lambda self: self.env.user.tz or "UTC",
        help="The times in the notices of customers who have no timezone.",
    )
    public_description = fields.Text(
        string="Text for customers",
        help="What customers read in the notices and in the banner of their portal.",
    )
    update_note = fields.Text(
        string="Latest update",
        help="What Send update tells customers; also shown in their portal.",
    )
    # --- scope
    location_ids = fields.Many2many(
        "customer.location",
        "customer_incident_customer_location_rel",
        "incident_id",
        "location_id",
        string="Locations",
        check_company=True,
    )
    tariff_ids = fields.Many2many(
        "customer.tariff",
        "customer_incident_customer_tariff_rel",
        "incident_id",
        "tariff_id",
        string="Tariff plans",
        check_company=True,
    )
    service_internet = fields.Boolean(string="Internet")
    service_voice = fields.Boolean(string="Voice")
    service_custom = fields.Boolean(string="Custom services")
    affected_count = fields.Integer(
        string="Affected customers", compute="_compute_affected_count"
    )
    # --- notices
    notify_hours = fields.Integer(
        string="Notify hours ahead",
        default=48,
        help="Planned maintenance: the notice goes out this many hours before "
        "the start, once scheduled.",
    )
    notify_date = fields.Datetime(
        string="Notice due",
        compute="_compute_notify_date",
        store=True,
        index="btree_not_null",
    )
    notice_template_id = fields.Many2one(
        "mail.template",
        string="Notice template",
        domain=[("model", "=", "res.partner")],
        default=lambda self: self.env.ref(
            "customer_messages.mail_template_incident_notice", raise_if_not_found=False
        ),
        ondelete="restrict",
    )
    update_template_id = fields.Many2one(
        "mail.template",
        string="Update template",
        domain=[("model", "=", "res.partner")],
        default=lambda self: self.env.ref(
            "customer_messages.mail_template_incident_update", raise_if_not_found=False
        ),
        ondelete="restrict",
    )
    resolved_template_id = fields.Many2one(
        "mail.template",
        string="Resolved template",
        domain=[("model", "=", "res.partner")],
        default=lambda self: self.env.ref(
            "customer_messages.mail_template_incident_resolved",
            raise_if_not_found=False,
        ),
        ondelete="restrict",
    )
    audience_partner_ids = fields.Many2many(
        "res.partner",
        "customer_incident_audience_rel",
        "incident_id",
        "partner_id",
        string="Notified customers",
        readonly=True,
        copy=False,
        help="The customers of the first notice: every later notice goes to them.",
    )
    audience_count = fields.Integer(
        string="Notified customers count", compute="_compute_audience_count"
    )
    notice_date = fields.Datetime(string="First notice on", readonly=True, copy=False)
    update_count = fields.Integer(string="Updates sent", readonly=True, copy=False)
    last_update_note = fields.Text(readonly=True, copy=False)
    notice_message_ids = fields.One2many(
        "customer.message", "incident_id", string="Notices"
    )
    notice_count = fields.Integer(
        string="Notices sent", compute="_compute_notice_count"
    )

    _dates_ordered = models.Constraint(
        "CHECK (date_end IS NULL OR date_end >= date_start)",
        "An incident cannot end before it starts.",
    )
    _notify_hours_positive = models.Constraint(
        "CHECK (notify_hours >= 0)", "Notify a positive number of hours ahead."
    )

    @api.depends(
        "location_ids",
        "tariff_ids",
        "service_internet",
        "service_voice",
        "service_custom",
        "company_id",
    )
    def _compute_affected_count(self):
        Partner = self.env["res.partner"]
        for incident in self:
            incident.affected_count = Partner.search_count(
                incident._get_affected_domain()
            )

    def _compute_audience_count(self):
        counts = dict(
            self.env["res.partner"]._read_group(
                [("customer_incident_ids", "in", self.ids)],
                ["customer_incident_ids"],
                ["__count"],
            )
        )
        for incident in self:
            incident.audience_count = counts.get(incident, 0)

    @api.depends("kind", "date_start", "notify_hours")
    def _compute_notify_date(self):
        for incident in self:
            if incident.kind == "maintenance" and incident.date_start:
                incident.notify_date = incident.date_start - timedelta(
                    hours=incident.notify_hours
                )
            else:
                incident.notify_date = False

    def _compute_notice_count(self):
        counts = dict(
            self.env["customer.message"]._read_group(
                [("incident_id", "in", self.ids)], ["incident_id"], ["__count"]
            )
        )
        for incident in self:
            incident.notice_count = counts.get(incident, 0)

    @api.constrains("notice_template_id", "update_template_id", "resolved_template_id")
    def _check_template_model(self):
        templates = (
            self.notice_template_id
            | self.update_template_id
            | self.resolved_template_id
        )
        templates._check_customer_message_template()

    @api.model_create_multi
    def create(self, vals_list):
        incidents = self
        if not self.env.su:
            for vals in vals_list:
                # a new incident is a draft without notices
                self._check_progress_values(
                    {fname for fname, value in vals.items() if value not in DRAFT}
                )
            # the context's defaults (an RPC call's) never set them either:
            # the whole context replaced, without them
            incidents = self.with_context(  # pylint: disable=context-overridden
                {
                    key: value
                    for key, value in self.env.context.items()
                    if key.removeprefix("default_") not in PROGRESS_FIELDS
                }
            )
        return super(CustomerIncident, incidents).create(vals_list)

    def write(self, vals):
        if not self.env.su:
            self._check_progress_values(vals)
        result = super().write(vals)
        if {"date_start", "notify_hours", "kind", "state"} & set(vals):
            self._trigger_cron()
        return result

    @api.model
    def _check_progress_values(self, vals):
        """Users never write what the incident's actions move."""
        if set(PROGRESS_FIELDS) & set(vals):
            raise AccessError(
                self.env._(
                    "The state, notified customers and notices of an incident "
                    "follow from its actions (Send notice, Mark ongoing, Send "
                    "update, Send resolved...) and its scope: they cannot be "
                    "written."
                )
            )

    def _write_progress(self, vals):
        """Move the incidents (state, notices), on the user's behalf."""
        self.check_access("write")
        # sudo: the incidents' own actions, on incidents the user may write
        # (checked above); users never write these fields (see write)
        return self.sudo().write(vals)

    # ------------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------------

    def action_view_affected(self):
        """The customers of the notices once the first is sent, else those
        the scope finds now."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_messages.res_partner_action_customers"
        )
        if self.notice_date:
            domain = [("customer_incident_ids", "in", self.ids)]
            name = self.env._("Notified customers of %(name)s", name=self.name)
        else:
            domain = list(self._get_affected_domain())
            name = self.env._("Customers affected by %(name)s", name=self.name)
        action.update(domain=domain, name=name)
        return action

    def action_view_notices(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_messages.customer_message_action"
        )
        action.update(
            domain=[("incident_id", "=", self.id)],
            context={"search_default_not_removed": 1},
            name=self.env._("Notices of %(name)s", name=self.name),
        )
        return action

    # ------------------------------------------------------------------
    # AFFECTED CUSTOMERS
    # ------------------------------------------------------------------

    def _get_service_types(self):
        self.ensure_one()
        return [value for fname, value in SERVICE_TYPES.items() if self[fname]]

    def _get_affected_domain(self):
        """Extension point: the customers the incident affects, as a domain
        on res.partner: the active customers of its company at one of its
        locations (if any) with an active service on one of its tariff plans
        and of one of its service types (if any). No scope: nobody."""
        self.ensure_one()
        service_types = self._get_service_types()
        if not (self.location_ids or self.tariff_ids or service_types):
            return Domain.FALSE
        domain = Domain("customer_status", "=", "active") & Domain(
            "company_id", "in", [False, self.company_id.id]
        )
        if self.location_ids:
            domain &= Domain("location_id", "in", self.location_ids.ids)
        if self.tariff_ids or service_types:
            service = Domain("status", "=", "active")
            if self.tariff_ids:
                service &= Domain("tariff_id", "in", self.tariff_ids.ids)
            if service_types:
                service &= Domain("service_type", "in", service_types)
            domain &= Domain("service_ids", "any", service)
        return domain

    def _check_ready(self):
        """A notice can be sent: someone is affected, templates are set."""
        self.ensure_one()
        if not self.active:
            raise UserError(
                self.env._(
                    "%(name)s is archived: unarchive it to send its notice.",
                    name=self.name,
                )
            )
        if not self._get_service_types() and not (self.location_ids or self.tariff_ids):
            raise UserError(
                self.env._(
                    "Choose the locations, tariff plans or service types "
                    "%(name)s affects first.",
                    name=self.name,
                )
            )
        if not self.notice_template_id:
            raise UserError(
                self.env._(
                    "Choose the template of the notice of %(name)s.", name=self.name
                )
            )
        if not self.env["res.partner"].search_count(
            self._get_affected_domain(), limit=1
        ):
            raise UserError(
                self.env._(
                    "No active customer is affected by %(name)s: check its "
                    "locations, tariff plans and service types.",
                    name=self.name,
                )
            )

    def _freeze_audience(self):
        """Keep the customers affected now as the audience of every notice."""
        self.ensure_one()
        Partner = self.env["res.partner"].with_company(self.company_id)
        query = Partner._search(self._get_affected_domain())
        self.env.flush_all()
        # sql: 100,000 customers are kept in one statement, never read
        self.env.execute_query(
            SQL(
                "INSERT INTO customer_incident_audience_rel (incident_id, partner_id) "
                "SELECT %s, affected.id FROM %s AS affected "
                "ON CONFLICT DO NOTHING",
                self.id,
                query.subselect(),
            )
        )
        self.invalidate_recordset(["audience_partner_ids"])

    # ------------------------------------------------------------------
    # PORTAL
    # ------------------------------------------------------------------

    @api.model
    def _get_portal_incidents(self, partner):
        """The open incidents whose notices went to the customer of this
        contact (its commercial partner or one of its contacts), sudoed,
        for the portal banner."""
        commercial = partner.commercial_partner_id
        # sudo: portal users have no access to incidents; only the open
        # incidents whose audience holds this very customer are returned,
        # and the banner shows their public fields only
        contacts = (
            self.env["res.partner"].sudo()._search([("id", "child_of", commercial.id)])
        )
        return self.sudo().search(
            [("state", "in", OPEN_STATES), ("audience_partner_ids", "in", contacts)],
            order="date_start, id",
        )
