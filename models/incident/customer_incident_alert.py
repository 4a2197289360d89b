import hashlib
import json
import logging
from datetime import datetime, timedelta, timezone

from psycopg2.errors import UniqueViolation

from odoo import api, fields, models
from odoo.fields import Domain

from .customer_incident import OPEN_STATES

_logger = logging.getLogger(__name__)

FIRING = {"firing", "problem", "down", "alert", "critical", "warning"}
RESOLVED = {"resolved", "ok", "up", "recovery", "cleared"}
# states of an alert still acting on an incident: one per alert at a time
LIVE_STATES = ("held", "open")


def _parse_time(value):
    """An ISO 8601 time of a monitoring system, as naive UTC, or None
    (Alertmanager's "0001-01-01T00:00:00Z" means none)."""
    if not isinstance(value, str) or not value or value.startswith("0001-"):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.replace(microsecond=0)


def parse_alerts(payload):
    """The alerts of a webhook's body, each as a dict (fingerprint, status,
    labels, name, starts_at, ends_at), or a ValueError saying what is wrong.

    Accepted: Prometheus Alertmanager's webhook (``{"alerts": [...]}``, each
    with ``status``, ``labels``, ``annotations``, ``startsAt``, ``endsAt``,
    ``fingerprint``), and a plain form for UISP, Zabbix or LibreNMS: one
    object or a list of objects with ``status`` (firing / resolved; problem,
    down / ok, up too), ``labels``, optional ``key``, ``summary``,
    ``starts_at`` and ``ends_at``."""
    if isinstance(payload, dict) and isinstance(payload.get("alerts"), list):
        items = payload["alerts"]
    elif isinstance(payload, dict):
        items = [payload]
    elif isinstance(payload, list):
        items = payload
    else:
        raise ValueError("The body must be a JSON object or a list of objects.")
    alerts = []
    for item in items:
        if not isinstance(item, dict):
            raise ValueError("Each alert must be a JSON object.")
        labels = item.get("labels") or {}
        if not isinstance(labels, dict):
            raise ValueError("An alert's labels must be an object.")
        labels = {str(key): str(value) for key, value in labels.items()}
        status = str(item.get("status") or "").lower()
        if status not in FIRING | RESOLVED:
            raise ValueError(
                f"Unknown alert status {status!r}: firing or resolved expected."
            )
        annotations = item.get("annotations")
        annotations = annotations if isinstance(annotations, dict) else {}
        fingerprint = item.get("fingerprint") or item.get("key") or item.get("id")
        if not fingerprint:
            fingerprint = hashlib.sha256(
                json.dumps(labels, sort_keys=True).encode()
            ).hexdigest()[:32]
        name = (
            item.get("summary")
            or annotations.get("summary")
            or labels.get("alertname")
            or str(fingerprint)
        )
        alerts.append(
            {
                "fingerprint": str(fingerprint)[:128],
                "status": "firing" if status in FIRING else "resolved",
                "labels": labels,
                "name": str(name)[:256],
                "starts_at": _parse_time(item.get("startsAt") or item.get("starts_at")),
                "ends_at": _parse_time(item.get("endsAt") or item.get("ends_at")),
            }
        )
    return alerts


class CustomerIncidentAlert(models.Model):
    """One alert of a monitoring source, from its first firing to its
    resolution (an episode). The webhook only records it
    (``_receive``); its cron (a ``customer.message.clock.mixin`` due at
    ``due_date``) opens the incident once the hold-down has passed, and
    resolves it when every alert of the incident is resolved. Repeated and
    out-of-order deliveries are harmless: an alert is found again by its
    fingerprint and start."""

    _name = "customer.incident.alert"
    _description = "Monitoring alert"
    _inherit = ["customer.message.clock.mixin"]
    _order = "received_date desc, id desc"
    _clock_due_field = "due_date"

    name = fields.Char(readonly=True)
    monitor_id = fields.Many2one(
        "customer.incident.monitor",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        related="monitor_id.company_id", store=True, index=True, precompute=True
    )
    mapping_id = fields.Many2one(
        "customer.incident.monitor.mapping", readonly=True, ondelete="set null"
    )
    incident_id = fields.Many2one(
        "customer.incident", readonly=True, index="btree_not_null", ondelete="set null"
    )
    fingerprint = fields.Char(readonly=True, required=True, index=True)
    labels = fields.Text(readonly=True)
    status = fields.Selection(
        selection=[("firing", "Firing"), ("resolved", "Resolved")],
        readonly=True,
        required=True,
    )
    state = fields.Selection(
        selection=[
            ("held", "Held (hold-down)"),
            ("open", "Incident open"),
            ("flapped", "Recovered within the hold-down"),
            ("resolved", "Resolved"),
            ("unmapped", "No mapping"),
            ("error", "Error"),
        ],
        readonly=True,
        required=True,
        index=True,
    )
    starts_at = fields.Datetime(readonly=True)
    ends_at = fields.Datetime(readonly=True)
    received_date = fields.Datetime(readonly=True, default=fields.Datetime.now)
    due_date = fields.Datetime(readonly=True, index="btree_not_null")
    note = fields.Text(readonly=True)

    _one_live_episode = models.UniqueIndex(
        "(monitor_id, fingerprint) WHERE state IN ('held', 'open')"
    )

    # ------------------------------------------------------------------
    # RECEIVING (the webhook, as the system)
    # ------------------------------------------------------------------

    @api.model
    def _receive(self, monitor, alert):
        """Record one parsed alert (see ``parse_alerts``) of ``monitor``;
        returns what was done: held, duplicate, stale, unmapped, resolved,
        flapped or recorded."""
        now = fields.Datetime.now()
        live = self.search(
            [
                ("monitor_id", "=", monitor.id),
                ("fingerprint", "=", alert["fingerprint"]),
                ("state", "in", LIVE_STATES),
            ],
            limit=1,
        )
        if alert["status"] == "firing":
            if live or self._is_stale(monitor, alert):
                return "duplicate" if live else "stale"
            mapping = monitor._get_mapping(alert["labels"])
            starts_at = alert["starts_at"] or now
            values = {
                "name": alert["name"],
                "monitor_id": monitor.id,
                "mapping_id": mapping.id,
                "fingerprint": alert["fingerprint"],
                "labels": json.dumps(alert["labels"], sort_keys=True),
                "status": "firing",
                "starts_at": starts_at,
                "state": "held" if mapping else "unmapped",
            }
            if mapping:
                values["due_date"] = max(
                    starts_at + timedelta(minutes=mapping.hold_down_minutes), now
                )
            try:
                with self.env.cr.savepoint():
                    record = self.create(values)
            except UniqueViolation:
                # the same alert posted twice at once: the other one holds it
                return "duplicate"
            record._trigger_cron()
            return "held" if mapping else "unmapped"
        ends_at = alert["ends_at"] or now
        if not live:
            # resolved before (or without) its firing: kept, so that the
            # late firing of the same start is known as stale
            self.create(
                {
                    "name": alert["name"],
                    "monitor_id": monitor.id,
                    "fingerprint": alert["fingerprint"],
                    "labels": json.dumps(alert["labels"], sort_keys=True),
                    "status": "resolved",
                    "starts_at": alert["starts_at"],
                    "ends_at": ends_at,
                    "state": "resolved",
                }
            )
            return "recorded"
        if live.state == "held":
            live.write(
                {
                    "status": "resolved",
                    "ends_at": ends_at,
                    "state": "flapped",
                    "due_date": False,
                }
            )
            return "flapped"
        live.write({"status": "resolved", "ends_at": ends_at, "due_date": now})
        live._trigger_cron()
        return "resolved"

    def _is_stale(self, monitor, alert):
        """A firing already resolved (a late or repeated delivery)."""
        domain = Domain("monitor_id", "=", monitor.id) & Domain(
            "fingerprint", "=", alert["fingerprint"]
        )
        domain &= Domain("state", "in", ("resolved", "flapped", "error"))
        if alert["starts_at"]:
            domain &= Domain("ends_at", ">=", alert["starts_at"])
        return bool(self.search_count(domain, limit=1))

    def _trigger_cron(self):
        cron = self.env.ref(
            "customer_messages.ir_cron_customer_incident_alert",
            raise_if_not_found=False,
        )
        for moment in {alert.due_date for alert in self if alert.due_date}:
            # sudo: the cron is woken whoever posts the alert
            cron.sudo()._trigger(at=moment)

    # ------------------------------------------------------------------
    # CLOCK (customer.message.clock.mixin): the incidents follow the alerts
    # ------------------------------------------------------------------

    @api.model
    def _get_due_domain(self, now):
        return super()._get_due_domain(now) & Domain("state", "in", LIVE_STATES)

    def _run_due(self, now, due_at):
        if self.state == "held":
            self._open_incident()
        elif self.status == "resolved":
            self._close_incident(now)

    def _set_next_due(self, now, due_at, ran):
        self.due_date = False

    def _on_due_error(self, error):
        # one alert's problem (a mapping with nobody affected, a user who
        # lost their rights...) must not stop the others
        _logger.warning("Alert %s could not open its incident: %s", self.id, error)
        self.write({"state": "error", "note": str(error), "due_date": False})

    def _open_incident(self):
        """The hold-down has passed and the alert still fires: it joins the
        open incident of its mapping, or opens one, created and notified for
        the mapping's configurer (the approval gate decides from them)."""
        mapping = self.mapping_id
        incident = self.search(
            [
                ("mapping_id", "=", mapping.id),
                ("incident_id.state", "in", ("draft", "planned", *OPEN_STATES)),
                ("incident_id.active", "=", True),
            ],
            limit=1,
        ).incident_id
        if not incident:
            configurer = mapping._get_configurer()
            values = mapping._prepare_incident_values(self)
            if not mapping._is_setup_trusted(configurer):
                # a plain user's incident is theirs (see the setup mixin)
                values["user_id"] = configurer.id
            incident = (
                self.env["customer.incident"]
                .with_user(configurer)
                .with_company(mapping.company_id)
                .create(values)
            )
            if mapping.auto_notify:
                incident._send_first_notice(origin="automated", process="cron")
        self.write({"state": "open", "incident_id": incident.id})

    def _close_incident(self, now):
        """Resolved: once the incident has no firing alert left, it is
        resolved (with its resolved notice when its customers were told)."""
        self.state = "resolved"
        incident = self.incident_id
        if not incident or incident.state == "resolved":
            return
        if self.search_count(
            [("incident_id", "=", incident.id), ("state", "in", LIVE_STATES)], limit=1
        ):
            return
        configurer = self.mapping_id._get_configurer() or incident._get_configurer()
        incident = incident.with_user(configurer)
        if incident.state in ("draft", "planned"):
            # nobody was told: nothing to send
            incident._write_progress({"state": "resolved", "date_resolved": now})
        elif self.mapping_id.auto_notify:
            incident._send_resolved(origin="automated", process="cron")
        else:
            # sudo: the system notes it, whoever configured the mapping
            incident.sudo().message_post(
                body=self.env._(
                    "The monitoring system resolved every alert of this incident: "
                    "send its resolved notice."
                )
            )

    @api.model
    def _cron_run_alerts(self):
        """Open and resolve the incidents of the alerts that are due."""
        self._run_due_records()


class CustomerIncident(models.Model):
    _inherit = "customer.incident"

    alert_ids = fields.One2many(
        "customer.incident.alert", "incident_id", string="Monitoring alerts"
    )
