from datetime import datetime, time, timedelta

from odoo import api, fields, models
from odoo.fields import Domain

# the channels quiet hours hold; the portal never disturbs
QUIET_CHANNELS = {"email": "email", "portal_email": "email", "sms": "sms"}


class CustomerMessageQuietHours(models.Model):
    """A window of the day when customers get no email or no SMS of the
    module (TCPA's 9 pm to 8 am for SMS, say), in each customer's own time
    zone: what falls in it is held, then sent when the window ends; never
    dropped. The window may run over midnight (21:00 to 08:00)."""

    _name = "customer.message.quiet.hours"
    _description = "Customer Message Quiet Hours"
    _order = "channel, start_hour, id"

    channel = fields.Selection(
        [("email", "Email"), ("sms", "SMS")], required=True, default="sms"
    )
    start_hour = fields.Float(string="From", required=True, default=21.0)
    end_hour = fields.Float(string="Until", required=True, default=8.0)
    category_ids = fields.Many2many(
        "customer.message.category",
        string="Categories",
        help="The categories of messages it holds (marketing only, say); empty: "
        "messages of every category, and those without one.",
    )
    company_id = fields.Many2one(
        "res.company", help="The company whose messages it holds; empty: every company."
    )
    include_automated = fields.Boolean(
        string="Automated messages too",
        default=True,
        help="Also hold the messages of automations (reminders, recurring messages).",
    )
    active = fields.Boolean(default=True)

    _hours_in_day = models.Constraint(
        "CHECK (start_hour >= 0 AND start_hour < 24 AND end_hour >= 0 "
        "AND end_hour < 24 AND start_hour != end_hour)",
        "Quiet hours start and end within the day (0:00 to 23:59), at different times.",
    )

    @api.depends("channel", "start_hour", "end_hour")
    def _compute_display_name(self):
        channels = dict(self._fields["channel"]._description_selection(self.env))
        for window in self:
            window.display_name = self.env._(
                "No %(channel)s from %(start)s to %(end)s",
                channel=channels.get(window.channel, ""),
                start=window._to_time(window.start_hour).strftime("%H:%M"),
                end=window._to_time(window.end_hour).strftime("%H:%M"),
            )

    @api.model
    def _to_time(self, hour):
        minutes = round(hour * 60)
        return time(minutes // 60 % 24, minutes % 60)

    @api.model
    def _get_for_message(self, message):
        """The windows that hold the message, by its channel, category and
        company."""
        channel = QUIET_CHANNELS.get(message.channel)
        if not channel:
            return self.browse()
        domain = Domain("channel", "=", channel) & (
            Domain("company_id", "=", False)
            | Domain("company_id", "=", message.company_id.id)
        )
        categories = Domain("category_ids", "=", False)
        if message.category_id:
            categories |= Domain("category_ids", "in", message.category_id.ids)
        domain &= categories
        if message.origin == "automated":
            domain &= Domain("include_automated", "=", True)
        # sudo: the company's settings hold whoever sends
        return self.sudo().search(domain)

    def _contains(self, moment):
        """Whether the local time falls in this window."""
        self.ensure_one()
        hour = moment.hour + moment.minute / 60 + moment.second / 3600
        if self.start_hour < self.end_hour:
            return self.start_hour <= hour < self.end_hour
        return hour >= self.start_hour or hour < self.end_hour

    def _get_next_allowed(self, moment):
        """The first local time from ``moment`` outside every window."""
        for _step in range(len(self) + 1):
            holding = next((w for w in self if w._contains(moment)), None)
            if not holding:
                return moment
            end = datetime.combine(moment.date(), self._to_time(holding.end_hour))
            moment = end if end > moment else end + timedelta(days=1)
        return moment
