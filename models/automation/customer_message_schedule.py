import ast
import calendar
import json
import logging
from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain

from odoo.addons.base.models.res_partner import _tz_get

from ..customer_message import CHANNELS

_logger = logging.getLogger(__name__)

# the fields rendered for each customer (checked when written, see
# _check_content), the template's included
CONTENT_FIELDS = {"subject", "body_html", "sms_body", "template_id"}


class CustomerMessageSchedule(models.Model):
    """A composition sent again and again: every N days, or monthly on a day,
    at an hour of the schedule's timezone. Each run re-resolves the
    recipients' filter (the customers matching then) and is its own message
    in the history, sent by ``customer.message._send_to_customers`` from the
    cron ``_cron_run_schedules`` (the loop of ``customer.message.clock.mixin``,
    with the hooks under CLOCK below)."""

    _name = "customer.message.schedule"
    _inherit = [
        "customer.message.document.mixin",
        "customer.message.setup.mixin",
        "customer.message.clock.mixin",
    ]
    _description = "Recurring message"
    _order = "state, next_run, id"
    _check_company_auto = True
    _customer_message_bounds = {"interval_number": (1, 3660), "month_day": (1, 31)}
    _customer_message_responsible_field = "user_id"
    _clock_key_prefix = "schedule"

    name = fields.Char(required=True)
    state = fields.Selection(
        selection=[("active", "Active"), ("paused", "Paused"), ("ended", "Ended")],
        default="active",
        required=True,
        index=True,
        copy=False,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    user_id = fields.Many2one(
        "res.users",
        string="Responsible",
        default=lambda self: self.env.user,
        help="The author of each run's message (only a manager names someone "
        "else than themselves).",
    )
    # --- the composition (what the composer passes to _send_to_customers)
    channel = fields.Selection(
        selection=CHANNELS, string="Send to", default="email", required=True
    )
    template_id = fields.Many2one(
        "mail.template", domain=[("model", "=", "res.partner")], ondelete="restrict"
    )
    subject = fields.Char(required=True)
    body_html = fields.Html(string="Message", sanitize="email_outgoing")
    sms_body = fields.Text(string="SMS text")
    attachment_ids = fields.Many2many(
        "ir.attachment",
        "customer_message_schedule_ir_attachment_rel",
        "schedule_id",
        "attachment_id",
        string="Attachments",
        help="Files sent to every recipient of every run.",
    )
    recipient_domain = fields.Text(
        string="Recipients domain",
        required=True,
        default="[]",
        help="The customers each run is sent to, as a domain on contacts, "
        "resolved again at each run.",
    )
    recipient_filter = fields.Text(
        string="Recipients filter", help="The recipients' filter in words."
    )
    # --- recurrence
    interval_type = fields.Selection(
        selection=[("days", "Every N days"), ("monthly", "Monthly on a day")],
        string="Repeat",
        default="monthly",
        required=True,
    )
    interval_number = fields.Integer(string="Every (days)", default=1)
    month_day = fields.Integer(
        string="Day of the month",
        default=1,
        help="In shorter months, a day after their end means their last day.",
    )
    hour = fields.Float(string="At", default=9.0, help="Hour of the timezone.")
    tz = fields.Selection(
        selection=_tz_get,
        string="Timezone",
        required=True,
        default=lambda self: self.env.user.tz or "UTC",
    )
    date_end = fields.Date(
        string="End date", help="No run after this day: the schedule ends."
    )
    next_run = fields.Datetime(
        compute="_compute_next_run",
        store=True,
        readonly=False,
        copy=False,
        index=True,
        help="The next occurrence (shown in your timezone).",
    )
    recurrence_summary = fields.Char(string="Recurrence", compute="_compute_summary")
    message_ids = fields.One2many("customer.message", "schedule_id", string="Runs")
    message_count = fields.Integer(string="Runs sent", compute="_compute_message_count")
    last_run = fields.Datetime(string="Last run", readonly=True, copy=False)

    _interval_number_positive = models.Constraint(
        "CHECK (interval_number >= 1)", "A schedule repeats every day or more."
    )
    _month_day_valid = models.Constraint(
        "CHECK (month_day BETWEEN 1 AND 31)", "The day of the month is 1 to 31."
    )
    _hour_valid = models.Constraint(
        "CHECK (hour >= 0 AND hour < 24)", "The hour is between 00:00 and 23:59."
    )

    @api.depends("interval_type", "interval_number", "month_day", "hour", "tz")
    def _compute_next_run(self):
        now = fields.Datetime.now()
        for schedule in self:
            schedule.next_run = schedule._get_next_run(now)

    @api.depends("interval_type", "interval_number", "month_day", "hour", "tz")
    def _compute_summary(self):
        for schedule in self:
            hours, minutes = schedule._get_hour_minute()
            at = f"{hours:02d}:{minutes:02d}"
            if schedule.interval_type == "monthly":
                schedule.recurrence_summary = self.env._(
                    "Monthly on day %(day)s at %(at)s (%(tz)s)",
                    day=schedule.month_day,
                    at=at,
                    tz=schedule.tz,
                )
            else:
                schedule.recurrence_summary = self.env._(
                    "Every %(count)s day(s) at %(at)s (%(tz)s)",
                    count=schedule.interval_number,
                    at=at,
                    tz=schedule.tz,
                )

    def _compute_message_count(self):
        counts = dict(
            self.env["customer.message"]._read_group(
                [("schedule_id", "in", self.ids)], ["schedule_id"], ["__count"]
            )
        )
        for schedule in self:
            schedule.message_count = counts.get(schedule, 0)

    @api.constrains("recipient_domain")
    def _check_recipient_domain(self):
        for schedule in self:
            schedule._get_recipient_domain()

    @api.constrains("template_id")
    def _check_template_model(self):
        self.template_id._check_customer_message_template()

    @api.onchange("template_id")
    def _onchange_template_id(self):
        # the template's content, channel, SMS text and documents come with it
        if self.template_id:
            self.subject = self.template_id.subject
            self.body_html = self.template_id.body_html
            self.update(self.template_id._get_customer_message_settings())

    @api.model_create_multi
    def create(self, vals_list):
        schedules = super().create(vals_list)
        schedules._check_content()
        # the files uploaded in the composer belong to the schedule now (the
        # composer's daily cleanup deletes those still belonging to it)
        for schedule in schedules:
            schedule.attachment_ids.filtered(
                lambda attachment: attachment.res_model
                in (False, "customer.message.composer")
            ).write({"res_model": self._name, "res_id": schedule.id})
        schedules._trigger_cron()
        return schedules

    def write(self, vals):
        result = super().write(vals)
        if CONTENT_FIELDS.intersection(vals):
            self._check_content()
        if "next_run" in vals or "state" in vals:
            self._trigger_cron()
        return result

    # ------------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------------

    def action_pause(self):
        self.filtered(lambda s: s.state == "active").write({"state": "paused"})
        return True

    def action_resume(self):
        """Active again, from the next occurrence after now (the runs missed
        while paused are not made up for)."""
        now = fields.Datetime.now()
        for schedule in self.filtered(lambda s: s.state != "active"):
            schedule.write({"state": "active", "next_run": schedule._get_next_run(now)})
            schedule._end_if_over()
        return True

    def action_end(self):
        self.write({"state": "ended", "next_run": False})
        return True

    def action_view_messages(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_messages.customer_message_action"
        )
        action.update(
            domain=[("schedule_id", "=", self.id)],
            context={"search_default_not_removed": 1},
            name=self.env._("Runs of %(name)s", name=self.name),
        )
        return action

    # ------------------------------------------------------------------
    # RECURRENCE
    # ------------------------------------------------------------------

    def _get_next_run(self, after, anchor=None):
        """The first occurrence strictly after ``after`` (naive UTC).

        :param anchor: the occurrence just run (every N days counts from it;
            by default from the day of ``after``)
        """
        self.ensure_one()
        today = self._to_local_date(after)
        if self.interval_type == "monthly":
            month = today.replace(day=1)
            while True:
                last_day = calendar.monthrange(month.year, month.month)[1]
                run = self._get_local_utc(
                    month.replace(day=min(self.month_day, last_day))
                )
                if run > after:
                    return run
                month += relativedelta(months=1)
        step = max(self.interval_number, 1)
        # from the day after N days of the run just made, else from today
        day = self._to_local_date(anchor) + timedelta(days=step) if anchor else today
        if day < today:
            # the occurrences missed (Odoo down, paused): the next one only
            day += timedelta(days=(today - day).days // step * step)
        while self._get_local_utc(day) <= after:
            day += timedelta(days=step)
        return self._get_local_utc(day)

    def _end_if_over(self):
        """End the schedules whose next run would be after their end date."""
        for schedule in self:
            if (
                schedule.state == "active"
                and schedule.date_end
                and schedule.next_run
                and schedule._to_local_date(schedule.next_run) > schedule.date_end
            ):
                schedule.write({"state": "ended", "next_run": False})

    def _trigger_cron(self):
        cron = self.env.ref(
            "customer_messages.ir_cron_customer_message_schedule_run",
            raise_if_not_found=False,
        )
        if not cron:
            return
        active = self.filtered(lambda s: s.state == "active")
        for next_run in set(active.mapped("next_run")):
            if next_run:
                cron._trigger(at=next_run)

    # ------------------------------------------------------------------
    # SENDING
    # ------------------------------------------------------------------

    def _get_recipient_domain(self):
        """The recipients' domain, checked against the customers' fields."""
        self.ensure_one()
        try:
            domain = Domain(ast.literal_eval(self.recipient_domain or "[]"))
            domain.validate(self.env["res.partner"])
        except (ValueError, TypeError, KeyError, SyntaxError) as error:
            raise ValidationError(
                self.env._(
                    "The recipients of %(name)s are not a valid filter on "
                    "customers: %(error)s",
                    name=self.name,
                    error=error,
                )
            ) from error
        return domain

    def _get_recipients(self):
        """The customers matching the filter now, as the schedule's user
        finds them in its company (as the composer does)."""
        self.ensure_one()
        Partner = self.env["res.partner"].with_company(self.company_id)
        if self.user_id:
            Partner = Partner.with_user(self.user_id).with_context(
                allowed_company_ids=self.company_id.ids
            )
        domain = self._get_recipient_domain() & Domain(
            "company_id", "in", [False, self.company_id.id]
        )
        partners = Partner.search(domain, order="id")
        return partners.with_env(self.env)

    @api.model
    def _domain_to_text(self, domain):
        """A domain as the text kept on the schedule (dates as strings)."""
        return repr(json.loads(json.dumps(list(Domain(domain)), default=str)))

    def _prepare_message_values(self):
        self.ensure_one()
        return {
            "subject": self.subject,
            "body_html": self.body_html or self.template_id.body_html,
            "sms_body": self.sms_body,
            "channel": self.channel,
            "template_id": self.template_id.id,
            "lang": self.template_id.lang or "{{ object.lang }}",
            "attachment_ids": [fields.Command.set(self.attachment_ids.ids)],
            "invoice_policy": self.invoice_policy,
            "proforma_policy": self.proforma_policy,
            "payment_policy": self.payment_policy,
            "document_date_from": self.document_date_from,
            "document_date_to": self.document_date_to,
            "recipient_filter": self.recipient_filter,
            "schedule_id": self.id,
            "company_id": self.company_id.id,
            "author_id": self.user_id.id,
            "configured_uid": self._get_configurer().id,
            "origin": "automated",
            "origin_ref": self.env._("Recurring message: %(name)s", name=self.name),
        }

    def _check_content(self):
        """Only template editors write more than the customer's plain
        placeholders: the cron renders the runs as the system (see
        customer.message _has_unsafe_expression)."""
        if self.env.su:
            return
        Message = self.env["customer.message"]
        for schedule in self:
            values = schedule._prepare_message_values()
            values.pop("schedule_id")
            Message.new(values)._check_access_right_dynamic_template()

    def _run(self, run_at):
        """Send the run of ``run_at`` to the customers matching now; the key
        makes a run that fires twice send nothing twice."""
        self.ensure_one()
        partners = self._get_recipients()
        if not partners:
            _logger.info("Recurring message %s: no customer matches, skipped", self.id)
            return self.env["customer.message"]
        key = self._get_clock_key(run_at)
        return (
            self.env["customer.message"]
            .with_company(self.company_id)
            ._send_to_customers(
                partners,
                self._prepare_message_values(),
                process="cron",
                key=key,
                key_origin=self,
            )
        )

    # ------------------------------------------------------------------
    # CLOCK (customer.message.clock.mixin)
    # ------------------------------------------------------------------

    @api.model
    def _get_due_domain(self, now):
        return super()._get_due_domain(now) & Domain("state", "=", "active")

    def _is_due_now(self, now, due_at):
        # a run after the end date is not sent: the schedule ends
        return not (self.date_end and self._to_local_date(due_at) > self.date_end)

    def _run_due(self, now, due_at):
        self._run(due_at)

    def _on_due_error(self, error):
        # one schedule's error must not stop the others: logged, the
        # schedule goes on
        _logger.warning("Recurring message %s could not run: %s", self.id, error)

    def _set_next_due(self, now, due_at, ran):
        if ran:
            self.last_run = now
        self.next_run = self._get_next_run(now, anchor=due_at)
        self._end_if_over()
        if not ran:
            self.write({"state": "ended", "next_run": False})

    @api.model
    def _cron_run_schedules(self):
        """Run the due schedules, one at a time, committing each: a run is
        sent once, then the schedule moves to its next occurrence after now
        (runs missed while Odoo was down are sent once, not each)."""
        self._run_due_records()
