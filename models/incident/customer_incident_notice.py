import logging

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain

from .customer_incident import OPEN_STATES

_logger = logging.getLogger(__name__)

# The notices of an incident, in the order they go out, with the template
# field each one uses.
NOTICES = {
    "notice": "notice_template_id",
    "update": "update_template_id",
    "resolved": "resolved_template_id",
}
# Each notice goes by SMS first (the customers' internet may be down), then
# by email and to the portal.
NOTICE_CHANNELS = ("sms", "portal_email")
# the category of every notice (its consent, quiet hours and approval apply)
SERVICE_CATEGORY = "customer_messages.customer_message_category_service"


class CustomerIncident(models.Model):
    """The notices of an incident: the first one (sent by a click, or by the
    cron when scheduled), its updates and the resolved notice, each sent to
    the audience frozen by the first one, SMS first, each keyed."""

    _inherit = "customer.incident"
    _clock_due_field = "notify_date"
    # the problems of one incident's notice (it goes back to draft); any
    # other error stops the cron
    _clock_errors = (UserError, ValidationError)

    # ------------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------------

    def action_schedule_notice(self):
        """Planned maintenance: the notice goes out by itself, notify_hours
        before the start (the cron ``_cron_send_notices``)."""
        for incident in self:
            if incident.state != "draft" or incident.kind != "maintenance":
                raise UserError(
                    self.env._(
                        "Only a draft planned maintenance gets a scheduled notice: "
                        "send the notice of %(name)s now instead.",
                        name=incident.name,
                    )
                )
            incident._check_ready()
        self._write_progress({"state": "planned"})
        return True

    def action_back_to_draft(self):
        """A scheduled notice not sent yet is called off."""
        self.filtered(lambda incident: incident.state == "planned")._write_progress(
            {"state": "draft"}
        )
        return True

    def action_send_notice(self):
        for incident in self:
            incident._send_first_notice()
        return True

    def action_start(self):
        self.filtered(lambda incident: incident.state == "announced")._write_progress(
            {"state": "ongoing"}
        )
        return True

    def action_send_update(self):
        for incident in self:
            incident._send_update()
        return True

    def action_send_resolved(self):
        for incident in self:
            incident._send_resolved()
        return True

    # ------------------------------------------------------------------
    # SENDING
    # ------------------------------------------------------------------

    def _send_first_notice(self, origin="manual", process="auto"):
        """The first notice, to the customers affected now, who become the
        audience of the later ones. Sent once: again, it returns the
        messages sent the first time.

        :param str process: see ``customer.message._send_to_customers``"""
        self.ensure_one()
        if self.notice_date:
            return self.notice_message_ids.filtered(
                lambda message: message.incident_notice == "notice"
            )
        if self.state not in ("draft", "planned"):
            raise UserError(
                self.env._("%(name)s is resolved: no notice is sent.", name=self.name)
            )
        self._check_ready()
        self._freeze_audience()
        messages = self._send_notice("notice", origin=origin, process=process)
        now = fields.Datetime.now()
        started = self.kind == "outage" or self.date_start <= now
        self._write_progress(
            {"notice_date": now, "state": "ongoing" if started else "announced"}
        )
        return messages

    def _send_update(self):
        self.ensure_one()
        if self.state not in OPEN_STATES:
            raise UserError(
                self.env._(
                    "Updates are sent on announced or ongoing incidents only: "
                    "send the notice of %(name)s first.",
                    name=self.name,
                )
            )
        if not (self.update_note or "").strip():
            raise UserError(
                self.env._(
                    "Write the update for customers (Latest update) of %(name)s first.",
                    name=self.name,
                )
            )
        if self.update_note == self.last_update_note:
            raise UserError(
                self.env._(
                    "This update of %(name)s was sent already: write what is new "
                    "in Latest update first.",
                    name=self.name,
                )
            )
        number = self.update_count + 1
        messages = self._send_notice("update", number=number)
        self._write_progress(
            {"update_count": number, "last_update_note": self.update_note}
        )
        return messages

    def _send_resolved(self, origin="manual", process="auto"):
        self.ensure_one()
        if self.state == "resolved":
            return self.notice_message_ids.filtered(
                lambda message: message.incident_notice == "resolved"
            )
        if self.state not in OPEN_STATES:
            raise UserError(
                self.env._(
                    "%(name)s was never announced: send its notice first, or "
                    "archive it.",
                    name=self.name,
                )
            )
        messages = self._send_notice("resolved", origin=origin, process=process)
        self._write_progress(
            {"state": "resolved", "date_resolved": fields.Datetime.now()}
        )
        return messages

    def _send_notice(self, notice, number=0, origin="manual", process="auto"):
        """Send one notice to the audience: one message per channel, SMS
        first, each keyed ``incident-<id>-<notice>-<number>-<channel>``, a
        key of this incident's own (another's message never stands for it).
        """
        self.ensure_one()
        template = self[NOTICES[notice]]
        if not template:
            raise UserError(
                self.env._(
                    "Choose the template of this notice of %(name)s.", name=self.name
                )
            )
        partners = self._get_notice_partners()
        if not partners:
            raise UserError(
                self.env._("%(name)s has no customer to notify.", name=self.name)
            )
        Message = self.env["customer.message"].with_company(self.company_id)
        messages = Message
        for channel in NOTICE_CHANNELS:
            messages |= Message._send_to_customers(
                partners,
                self._prepare_notice_values(notice, template, channel, origin),
                process=process,
                key=f"incident-{self.id}-{notice}-{number}-{channel}",
                key_origin=self,
            )
        return messages

    def _get_notice_partners(self):
        """Extension point: the customers a notice goes to (the audience
        frozen by the first notice; the status page adds its followers)."""
        self.ensure_one()
        return self.audience_partner_ids

    def _prepare_notice_values(self, notice, template, channel, origin):
        """The values of one notice's message (see _send_to_customers): the
        template's own content, rendered per customer with the incident as
        ``incident`` (see customer.message ``_render_for_partners``)."""
        self.ensure_one()
        labels = dict(self._fields["state"]._description_selection(self.env))
        values = {
            "template_id": template.id,
            "sms_body": template.customer_message_sms_body or False,
            "channel": channel,
            "company_id": self.company_id.id,
            "incident_id": self.id,
            "incident_notice": notice,
            "origin": origin,
            "origin_ref": self.env._("Incident: %(name)s", name=self.name),
            "recipient_filter": self.env._(
                "Customers notified of %(name)s (%(state)s)",
                name=self.name,
                state=labels[self.state],
            ),
        }
        if origin == "automated":
            # a scheduled notice: sent as set up (see customer.message
            # _needs_approval); a notice sent by a click is its sender's
            values["configured_uid"] = self._get_configurer().id
            if self.user_id:
                values["author_id"] = self.user_id.id
        category = self.env.ref(SERVICE_CATEGORY, raise_if_not_found=False)
        if category:
            values["category_id"] = category.id
        return values

    # ------------------------------------------------------------------
    # CRON
    # ------------------------------------------------------------------

    def _trigger_cron(self):
        cron = self.env.ref(
            "customer_messages.ir_cron_customer_incident_notify",
            raise_if_not_found=False,
        )
        if not cron:
            return
        now = fields.Datetime.now()
        moments = set()
        for incident in self:
            if incident.state == "planned" and incident.notify_date:
                moments.add(max(incident.notify_date, now))
            if incident.state == "announced" and incident.date_start:
                moments.add(max(incident.date_start, now))
        for moment in moments:
            # sudo: the cron is woken whoever schedules the notice
            cron.sudo()._trigger(at=moment)

    # ------------------------------------------------------------------
    # CLOCK (customer.message.clock.mixin)
    # ------------------------------------------------------------------

    @api.model
    def _get_due_domain(self, now):
        return (
            super()._get_due_domain(now)
            & Domain("state", "=", "planned")
            & Domain("active", "=", True)
        )

    def _run_due(self, now, due_at):
        self._send_first_notice(origin="automated", process="cron")

    def _on_due_error(self, error):
        # one incident's problem must not stop the others: it goes back to
        # draft, with the reason in its chatter
        _logger.warning("Notice of incident %s could not be sent: %s", self.id, error)
        self.state = "draft"
        self.message_post(
            body=self.env._(
                "The scheduled notice could not be sent: %(error)s",
                error=str(error),
            )
        )

    @api.model
    def _cron_send_notices(self):
        """Send the advance notices that are due, once each (the notice is
        keyed, and the incident leaves the Notice scheduled state), then
        mark the announced incidents that have started as ongoing.

        Each notice is recorded in a savepoint with the incident's state, and
        committed with it: the processing cron sends it (it commits as it
        sends, which nothing may do inside a savepoint)."""
        now = fields.Datetime.now()
        self._run_due_records(now)
        started = self.search([("state", "=", "announced"), ("date_start", "<=", now)])
        started.write({"state": "ongoing"})
