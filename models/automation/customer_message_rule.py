import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.fields import Domain

from odoo.addons.base.models.res_partner import _tz_get

_logger = logging.getLogger(__name__)

TRIGGERS = [
    ("invoice_due", "Invoice due date"),
    ("service_expiry", "Prepaid service expiry"),
    ("customer_blocked", "Customer blocked"),
    ("dunning", "Dunning of unpaid invoices"),
]
# the triggers on invoices: payment reminders, which the customer's pause holds
INVOICE_TRIGGERS = ("invoice_due", "dunning")
# triggers whose steps come after the document's date only
AFTER_ONLY_TRIGGERS = ("customer_blocked", "dunning")
DUNNING_MAX_STEPS = 3
WORKING_DAYS = range(5)  # Monday to Friday


class CustomerMessageRule(models.Model):
    """A reminder rule: messages sent N days before or after a date of each
    document (an invoice's due date, a prepaid service's end, the day a
    customer turned Blocked), one step after the other; a dunning policy is
    a rule on unpaid invoices, at most three steps after the due date.

    The cron ``_cron_run_rules`` runs each rule once per working slot (its
    hour, on working days, in its timezone): each step sends ONE message to
    the customers of the documents for which it is the latest step due,
    through ``customer.message._send_to_customers``, and each document is
    logged per step (``customer.message.rule.log``), so no document gets a
    step twice, however often the cron runs. The cron is the loop of
    ``customer.message.clock.mixin``, with the hooks under CLOCK below; the
    documents due for each step are found in
    ``customer_message_rule_due.py``."""

    _name = "customer.message.rule"
    _inherit = [
        "customer.message.document.mixin",
        "customer.message.setup.mixin",
        "customer.message.clock.mixin",
    ]
    _description = "Reminder rule"
    _order = "name, id"
    _check_company_auto = True
    _customer_message_bounds = {"catch_up_days": (0, 366)}

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    trigger = fields.Selection(
        selection=TRIGGERS,
        string="Reminder of",
        required=True,
        default="invoice_due",
        help="Invoice due date: unpaid invoices, before or after their due date. "
        "Prepaid service expiry: active services of prepaid customers, before "
        "or after their end date. Customer blocked: after the day the customer "
        "turned Blocked. Dunning: up to three reminders after the due date of "
        "unpaid invoices, with all the customer's unpaid invoices attached.",
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    reseller_ids = fields.Many2many(
        "res.partner",
        "customer_message_rule_reseller_rel",
        "rule_id",
        "reseller_id",
        string="Resellers",
        domain=[("is_reseller", "=", True)],
        help="Only the customers of these resellers; empty: every customer.",
    )
    step_ids = fields.One2many(
        "customer.message.rule.step", "rule_id", string="Steps", copy=True
    )
    hour = fields.Float(
        string="Send at",
        default=9.0,
        required=True,
        help="The hour of the rule's timezone its messages are sent at.",
    )
    tz = fields.Selection(
        selection=_tz_get,
        string="Timezone",
        required=True,
        default=lambda self: self.env.company.partner_id.tz
        or self.env.user.tz
        or "UTC",
    )
    working_days_only = fields.Boolean(
        string="Working days only",
        default=True,
        help="Send Monday to Friday only: a run due on a weekend waits for Monday.",
    )
    catch_up_days = fields.Integer(
        string="Late by at most (days)",
        default=7,
        help="A step whose day passed while nothing was sent (Odoo stopped, the "
        "rule archived) is still sent this many days late at most; then it is "
        "skipped. Dunning steps are always sent while the invoice is unpaid.",
    )
    next_run = fields.Datetime(
        string="Next run",
        compute="_compute_next_run",
        store=True,
        readonly=False,
        copy=False,
        index=True,
        help="When the rule next sends its due steps (shown in your timezone).",
    )
    last_run = fields.Datetime(string="Last run", readonly=True, copy=False)
    message_ids = fields.One2many("customer.message", "rule_id", string="Messages")
    message_count = fields.Integer(
        string="Messages sent", compute="_compute_message_count"
    )
    log_ids = fields.One2many(
        "customer.message.rule.log", "rule_id", string="Reminders sent"
    )

    _hour_valid = models.Constraint(
        "CHECK (hour >= 0 AND hour < 24)", "The hour is between 00:00 and 23:59."
    )
    _catch_up_days_positive = models.Constraint(
        "CHECK (catch_up_days >= 0)", "A step is late by 0 days or more."
    )

    @api.depends("hour", "tz", "working_days_only", "active")
    def _compute_next_run(self):
        now = fields.Datetime.now()
        for rule in self:
            rule.next_run = rule._get_next_slot(now) if rule.active else False

    def _compute_message_count(self):
        counts = dict(
            self.env["customer.message"]._read_group(
                [("rule_id", "in", self.ids)], ["rule_id"], ["__count"]
            )
        )
        for rule in self:
            rule.message_count = counts.get(rule, 0)

    @api.constrains("trigger", "step_ids")
    def _check_steps(self):
        """After-only triggers have no step before the date, a dunning policy
        three steps at most, and no two steps of a rule fall on one day."""
        for rule in self:
            steps = rule.step_ids
            if rule.trigger in AFTER_ONLY_TRIGGERS and any(
                step.timing == "before" for step in steps
            ):
                raise ValidationError(
                    self.env._(
                        "The steps of %(rule)s come after the date "
                        "(%(trigger)s): none may be before it.",
                        rule=rule.name,
                        trigger=dict(TRIGGERS)[rule.trigger],
                    )
                )
            if rule.trigger == "dunning" and len(steps) > DUNNING_MAX_STEPS:
                raise ValidationError(
                    self.env._(
                        "A dunning policy has %(max)s reminder steps at most; "
                        "%(rule)s has %(count)s.",
                        max=DUNNING_MAX_STEPS,
                        rule=rule.name,
                        count=len(steps),
                    )
                )
            offsets = steps.mapped("offset_days")
            if len(offsets) != len(set(offsets)):
                raise ValidationError(
                    self.env._(
                        "Two steps of %(rule)s fall on the same day.", rule=rule.name
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        rules = super().create(vals_list)
        rules._trigger_cron()
        return rules

    def write(self, vals):
        result = super().write(vals)
        if {"hour", "tz", "working_days_only", "active"}.intersection(vals):
            self._trigger_cron()
        return result

    # ------------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------------

    def action_run_now(self):
        """Queue the due steps now, whatever the hour (managers): the
        messages are recorded with their lines and logs at once (a second
        click finds nothing due) and handed to the processing cron, as the
        composer's Send does; the answer does not wait for their PDFs or
        their delivery."""
        self.check_access("write")
        messages = self.env["customer.message"]
        # sudo: the rule sends as the system, as its cron does (the
        # documents of every customer of the company, rendered and attached)
        for rule in self.sudo():
            messages |= rule._run(fields.Datetime.now(), process="cron")
        if messages:
            text = self.env._(
                "%(count)s message(s) to %(customers)s customer(s) queued: they "
                "are sent in the background (see Messages).",
                count=len(messages),
                customers=sum(messages.mapped("recipient_count")),
            )
        else:
            text = self.env._("Nothing is due: no message was queued.")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": text,
                "type": "success" if messages else "info",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_view_messages(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "customer_messages.customer_message_action"
        )
        action.update(
            domain=[("rule_id", "=", self.id)],
            context={"search_default_not_removed": 1},
            name=self.env._("Messages of %(name)s", name=self.name),
        )
        return action

    # ------------------------------------------------------------------
    # WORKING SLOTS
    # ------------------------------------------------------------------

    def _is_working_day(self, day):
        return not self.working_days_only or day.weekday() in WORKING_DAYS

    def _is_in_slot(self, moment):
        """Whether the rule may send at ``moment`` (naive UTC): a working day,
        at or after its hour."""
        self.ensure_one()
        local = self._to_local(moment)
        hours, minutes = self._get_hour_minute()
        return self._is_working_day(local.date()) and (local.hour, local.minute) >= (
            hours,
            minutes,
        )

    def _get_next_slot(self, after):
        """The first working slot strictly after ``after`` (naive UTC)."""
        self.ensure_one()
        day = self._to_local_date(after)
        while True:
            if self._is_working_day(day):
                slot = self._get_local_utc(day)
                if slot > after:
                    return slot
            day += timedelta(days=1)

    def _trigger_cron(self):
        cron = self.env.ref(
            "customer_messages.ir_cron_customer_message_rule_run",
            raise_if_not_found=False,
        )
        if not cron:
            return
        for next_run in set(self.filtered("active").mapped("next_run")):
            if next_run:
                # sudo: the cron is woken whoever saves the rule
                cron.sudo()._trigger(at=next_run)

    # ------------------------------------------------------------------
    # SENDING
    # ------------------------------------------------------------------

    def _prepare_message_values(self, step, documents):
        self.ensure_one()
        return {
            "template_id": step.template_id.id,
            "channel": step.channel,
            "sms_body": step.template_id.customer_message_sms_body or False,
            # dunning: all the customer's unpaid invoices, beside the reminded one
            "invoice_policy": "unpaid"
            if self.trigger == "dunning"
            else self.invoice_policy,
            "proforma_policy": self.proforma_policy,
            "payment_policy": self.payment_policy,
            "document_date_from": self.document_date_from,
            "document_date_to": self.document_date_to,
            "company_id": self.company_id.id,
            "author_id": False,
            "configured_uid": self._get_configurer().id,
            "origin": "automated",
            "origin_ref": self.env._(
                "Reminder rule: %(name)s (step %(step)s)",
                name=self.name,
                step=step.sequence,
            ),
            "rule_id": self.id,
            "recipient_filter": self.env._(
                "%(trigger)s, %(when)s: %(count)s document(s)",
                trigger=dict(TRIGGERS)[self.trigger],
                when=step.display_name,
                count=len(documents),
            ),
        }

    def _run(self, now, process="auto"):
        """Send each step's message to the customers of its due documents
        (one message per step), and log the documents sent.

        :param str process: see ``customer.message._send_to_customers``; the
            cron hands the messages to the processing cron ("cron"), which
            commits as it sends

        :return: the customer.message records sent
        """
        self.ensure_one()
        today = self._to_local(now).date()
        Message = self.env["customer.message"].with_company(self.company_id)
        Log = self.env["customer.message.rule.log"]
        sent = Message
        date_field = self._get_trigger_setup()[1]
        steps = self.step_ids.sorted(lambda s: (s.offset_days, s.id))
        for step, next_step in zip(steps, [*steps[1:], None], strict=True):
            documents = self._get_due_documents(step, next_step, today)
            if not documents:
                continue
            # one key per customer and step, naming the documents and their
            # dates (a customer blocked again is reminded again)
            keys = Message._get_trigger_keys(
                documents,
                f"rule-step-{step.id}",
                label=lambda document: f"{document.id}@{document[date_field]}",
            )
            documents = Message._get_untriggered(documents, keys)
            if not documents:
                continue
            message = Message.with_context(
                customer_messages_trigger_keys=keys
            )._send_to_customers(
                documents,
                self._prepare_message_values(step, documents),
                process=process,
            )
            customers = {
                document.id: Message._get_customers_of(document)
                for document in documents
            }
            Log.create(
                [
                    {
                        "rule_id": self.id,
                        "step_id": step.id,
                        "message_id": message.id,
                        "partner_id": customers[document.id].id,
                        "res_model": documents._name,
                        "res_id": document.id,
                        "document_name": document.display_name,
                        "document_date": document[date_field],
                    }
                    for document in documents
                ]
            )
            sent |= message
        self.last_run = now
        return sent

    # ------------------------------------------------------------------
    # CLOCK (customer.message.clock.mixin)
    # ------------------------------------------------------------------

    @api.model
    def _get_due_domain(self, now):
        return super()._get_due_domain(now) & Domain("active", "=", True)

    def _is_due_now(self, now, due_at):
        # a slot missed (Odoo stopped) runs if now is still a working slot;
        # else the rule only moves to its next one
        return self._is_in_slot(now)

    def _run_due(self, now, due_at):
        self._run(now, process="cron")

    def _on_due_error(self, error):
        # one rule's error must not stop the others: logged, sent again next
        # slot
        _logger.warning("Reminder rule %s could not run: %s", self.id, error)

    def _set_next_due(self, now, due_at, ran):
        self.next_run = self._get_next_slot(now)
        self._trigger_cron()

    @api.model
    def _cron_run_rules(self):
        """Run the rules whose slot came, one at a time, committing each.
        A slot missed (Odoo stopped) runs at the next cron run if it is still
        a working day after the hour; else the rule waits for its next slot."""
        self._run_due_records()
