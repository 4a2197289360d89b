from odoo import api, fields, models

from ..customer_message import CHANNELS


class CustomerMessageRuleStep(models.Model):
    """One step of a reminder rule: a message sent N days before or after the
    date of each document of the rule (an invoice's due date, a service's
    end, the day a customer was blocked), on a channel, from a template."""

    _name = "customer.message.rule.step"
    _description = "Reminder rule step"
    _order = "rule_id, offset_days, id"
    _check_company_auto = True

    rule_id = fields.Many2one(
        "customer.message.rule",
        string="Reminder rule",
        required=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(related="rule_id.company_id", store=True, index=True)
    sequence = fields.Integer(
        string="Step",
        compute="_compute_sequence",
        help="The steps of a rule go by their day, the earliest first.",
    )
    days = fields.Integer(required=True, default=1)
    timing = fields.Selection(
        selection=[("before", "Days before"), ("after", "Days after")],
        string="When",
        required=True,
        default="after",
    )
    offset_days = fields.Integer(
        string="Offset (days)",
        compute="_compute_offset_days",
        store=True,
        help="Days from the document's date: negative before it, positive after.",
    )
    channel = fields.Selection(
        selection=CHANNELS, string="Send to", required=True, default="email"
    )
    template_id = fields.Many2one(
        "mail.template",
        required=True,
        domain=[("model", "=", "res.partner")],
        ondelete="restrict",
        help="The message of this step, rendered for each customer.",
    )
    log_count = fields.Integer(string="Sent", compute="_compute_log_count")

    _days_positive = models.Constraint(
        "CHECK (days >= 0)", "A step is a number of days, 0 or more."
    )

    @api.depends("rule_id.step_ids.offset_days")
    def _compute_sequence(self):
        for step in self:
            steps = step.rule_id.step_ids.sorted(lambda s: (s.offset_days, s.id))
            step.sequence = (
                list(steps).index(step) + 1 if step in steps else len(steps) + 1
            )

    @api.depends("days", "timing")
    def _compute_offset_days(self):
        for step in self:
            sign = -1 if step.timing == "before" else 1
            step.offset_days = sign * (step.days or 0)

    def _compute_log_count(self):
        counts = dict(
            self.env["customer.message.rule.log"]._read_group(
                [("step_id", "in", self.ids)], ["step_id"], ["__count"]
            )
        )
        for step in self:
            step.log_count = counts.get(step, 0)

    @api.depends("days", "timing")
    def _compute_display_name(self):
        for step in self:
            if step.timing == "before":
                step.display_name = self.env._("%(days)s day(s) before", days=step.days)
            else:
                step.display_name = self.env._("%(days)s day(s) after", days=step.days)

    @api.constrains("template_id")
    def _check_template_model(self):
        self.template_id._check_customer_message_template()

    @api.constrains("days", "timing", "rule_id")
    def _check_rule_steps(self):
        self.rule_id._check_steps()
