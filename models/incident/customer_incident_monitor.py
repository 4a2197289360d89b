import fnmatch
import secrets

from odoo import api, fields, models
from odoo.exceptions import AccessError

MANAGER_GROUP = "customer_messages.customer_messages_group_manager"


class CustomerIncidentMonitor(models.Model):
    """A monitoring system (Prometheus Alertmanager, UISP, Zabbix,
    LibreNMS...) that posts its alerts to this source's webhook
    (``controllers/incident/monitoring.py``). Its mappings turn an alert's
    labels into the scope of an incident; the alerts received are kept
    (``customer.incident.alert``), and the incidents are opened, notified
    and resolved by the alerts' cron, never by the request that posts them.
    """

    _name = "customer.incident.monitor"
    _description = "Monitoring source of incidents"
    _inherit = ["mail.thread", "customer.message.setup.mixin"]
    _order = "name, id"
    _check_company_auto = True
    _customer_message_responsible_field = "user_id"

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self.env.user,
        help="The author of the incidents opened from its alerts and of their "
        "notices (only a manager names someone else than themselves).",
    )
    token = fields.Char(
        readonly=True,
        copy=False,
        groups=MANAGER_GROUP,
        help="The secret the monitoring system sends with each alert: as the "
        "header Authorization: Bearer <token>, the header "
        "X-Customer-Messages-Token, or ?token= in the address.",
    )
    webhook_url = fields.Char(
        string="Webhook address",
        compute="_compute_webhook_url",
        help="Where the monitoring system posts its alerts (Alertmanager's "
        "webhook_configs url, or a custom HTTP action in UISP, Zabbix or "
        "LibreNMS).",
    )
    mapping_ids = fields.One2many(
        "customer.incident.monitor.mapping", "monitor_id", string="Mappings", copy=True
    )
    alert_ids = fields.One2many(
        "customer.incident.alert", "monitor_id", string="Alerts"
    )
    alert_count = fields.Integer(compute="_compute_alert_count")

    @api.model_create_multi
    def create(self, vals_list):
        monitors = super().create(vals_list)
        # sudo: the token is made by the system, whoever creates the source
        for monitor in monitors.sudo():
            monitor.token = secrets.token_urlsafe(32)
        return monitors

    def _compute_webhook_url(self):
        for monitor in self:
            monitor.webhook_url = (
                f"{monitor.get_base_url()}/customer_messages/monitoring/{monitor.id}"
                if monitor.id
                else False
            )

    def _compute_alert_count(self):
        counts = dict(
            self.env["customer.incident.alert"]._read_group(
                [("monitor_id", "in", self.ids)], ["monitor_id"], ["__count"]
            )
        )
        for monitor in self:
            monitor.alert_count = counts.get(monitor, 0)

    def action_regenerate_token(self):
        """A new secret: the monitoring system must be given it."""
        if not self.env.user.has_group(MANAGER_GROUP):
            raise AccessError(
                self.env._("Only a Messages / Manager changes a webhook's secret.")
            )
        for monitor in self.sudo():
            monitor.token = secrets.token_urlsafe(32)
        return True

    def action_view_alerts(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Alerts of %(name)s", name=self.name),
            "res_model": "customer.incident.alert",
            "view_mode": "list,form",
            "domain": [("monitor_id", "=", self.id)],
        }

    def _get_mapping(self, labels):
        """The first mapping (by sequence) whose label matches, or nothing."""
        self.ensure_one()
        for mapping in self.mapping_ids.filtered("active"):
            value = labels.get(mapping.label_name)
            if isinstance(value, str) and fnmatch.fnmatchcase(
                value, mapping.label_value
            ):
                return mapping
        return self.mapping_ids.browse()


class CustomerIncidentMonitorMapping(models.Model):
    """One label value of the alerts (``site=north-*``) and the customers it
    stands for: locations, tariff plans, service types, as an incident's
    scope. Whoever configured it last is the one the notices are sent for
    (``configured_uid``): a plain user's notices wait for approval."""

    _name = "customer.incident.monitor.mapping"
    _description = "Alert label to incident scope"
    _inherit = ["customer.message.setup.mixin"]
    _order = "sequence, id"
    _check_company_auto = True
    _customer_message_bounds = {"hold_down_minutes": (0, 1440)}

    monitor_id = fields.Many2one(
        "customer.incident.monitor", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(
        related="monitor_id.company_id", store=True, index=True, precompute=True
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    label_name = fields.Char(
        string="Label", required=True, default="site", help="e.g. site, instance, job"
    )
    label_value = fields.Char(
        string="Value",
        required=True,
        help="The label's value, * and ? as wildcards (north-*).",
    )
    kind = fields.Selection(
        selection=[
            ("maintenance", "Planned maintenance"),
            ("outage", "Unplanned outage"),
        ],
        required=True,
        default="outage",
    )
    location_ids = fields.Many2many(
        "customer.location",
        "customer_incident_monitor_mapping_location_rel",
        "mapping_id",
        "location_id",
        string="Locations",
        check_company=True,
    )
    tariff_ids = fields.Many2many(
        "customer.tariff",
        "customer_incident_monitor_mapping_tariff_rel",
        "mapping_id",
        "tariff_id",
        string="Tariff plans",
        check_company=True,
    )
    service_internet = fields.Boolean(string="Internet")
    service_voice = fields.Boolean(string="Voice")
    service_custom = fields.Boolean(string="Custom services")
    public_description = fields.Text(
        string="Text for customers",
        help="The incident's text for customers (never the alert's own text, "
        "which may name equipment).",
    )
    hold_down_minutes = fields.Integer(
        string="Hold-down (minutes)",
        default=5,
        help="An alert must fire this long before an incident is opened: a "
        "link that flaps and recovers within it notifies nobody.",
    )
    auto_notify = fields.Boolean(
        string="Notify customers",
        help="Send the incident's notice as soon as it is opened, and its "
        "resolved notice when the alert is resolved (approval and quiet "
        "hours apply). Otherwise the incident waits in draft for staff.",
    )

    def _prepare_incident_values(self, alert):
        """The incident an alert opens: this mapping's scope."""
        self.ensure_one()
        return {
            "name": alert.name,
            "kind": self.kind,
            "company_id": self.company_id.id,
            "user_id": self.monitor_id.user_id.id,
            "date_start": alert.starts_at,
            "public_description": self.public_description,
            "location_ids": [fields.Command.set(self.location_ids.ids)],
            "tariff_ids": [fields.Command.set(self.tariff_ids.ids)],
            "service_internet": self.service_internet,
            "service_voice": self.service_voice,
            "service_custom": self.service_custom,
        }
