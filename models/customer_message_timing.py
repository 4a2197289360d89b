import pytz

from odoo import api, fields, models
from odoo.tools import SQL


class CustomerMessage(models.Model):
    """When each customer gets a message: at once, at its scheduled time,
    at that time of day in the customer's own time zone
    (``scheduled_in_customer_tz``), and never in the quiet hours of its
    channel in the customer's time zone (customer.message.quiet.hours).

    A customer held for later has the time on its line (``scheduled_date``,
    set when the line is made: ``_get_send_times``); the message's
    ``due_date`` is the next such time, when the processing cron is woken
    (``_wait_for_held_recipients``)."""

    _inherit = "customer.message"

    def _get_quiet_hours(self):
        """The quiet hours that hold this message's customers."""
        self.ensure_one()
        if self.is_test:
            return self.env["customer.message.quiet.hours"]
        return self.env["customer.message.quiet.hours"]._get_for_message(self)

    def _holds_recipients(self):
        """Whether some customers may get the message later than others."""
        self.ensure_one()
        return bool(
            (self.scheduled_date and self.scheduled_in_customer_tz)
            or self._get_quiet_hours()
        )

    def _get_send_times(self, partner_ids):
        """When the customers get the message, by their time zone (customers
        without one: the company's, else the author's): the scheduled time
        of day in their zone (``scheduled_in_customer_tz``: as its author
        reads it) or the message's time (scheduled, or now), moved out of
        the quiet hours of its channel.

        :return: {time zone name or None: UTC datetime}; empty when every
            customer gets it at the message's time
        """
        self.ensure_one()
        if not self._holds_recipients():
            return {}
        # sql: the customers' zones, a handful, whatever their number
        zones = self.env.execute_query(
            SQL(
                "SELECT DISTINCT tz FROM res_partner WHERE id = ANY(%s)",
                list(partner_ids),
            )
        )
        author_zone = self._get_zone(self.author_id.tz) or pytz.utc
        default_zone = self._get_zone(self.company_id.partner_id.tz) or author_zone
        start = pytz.utc.localize(self.scheduled_date or fields.Datetime.now())
        in_customer_tz = bool(self.scheduled_date and self.scheduled_in_customer_tz)
        wall_time = start.astimezone(author_zone).replace(tzinfo=None)
        quiet_hours = self._get_quiet_hours()
        times = {}
        for (tz,) in zones:
            zone = self._get_zone(tz) or default_zone
            local = (
                wall_time
                if in_customer_tz
                else start.astimezone(zone).replace(tzinfo=None)
            )
            local = quiet_hours._get_next_allowed(local)
            times[tz] = zone.localize(local).astimezone(pytz.utc).replace(tzinfo=None)
        return times

    @api.model
    def _get_zone(self, name):
        try:
            return pytz.timezone(name) if name else None
        except pytz.UnknownTimeZoneError:
            return None

    def _get_next_due_date(self):
        """When the next recipients of the message are due: its scheduled
        time, or the first time among the customers not sent to yet when
        some are held (False: now)."""
        self.ensure_one()
        if not self._holds_recipients():
            return self.scheduled_date
        base = self.scheduled_date or fields.Datetime.now()
        due = self.env.execute_query(
            SQL(
                "SELECT min(COALESCE(scheduled_date, %s)) "
                "FROM customer_message_recipient "
                "WHERE message_id = %s AND state = 'new'",
                base,
                self.id,
            )
        )[0][0]
        if self.pending_partner_list:
            # sql: the customers whose lines are not made yet, in one query
            rows = self.env.execute_query(
                SQL(
                    "SELECT DISTINCT customer::int FROM customer_message, "
                    "jsonb_array_elements(pending_partner_list) AS customer "
                    "WHERE id = %s",
                    self.id,
                )
            )
            times = self._get_send_times([partner_id for (partner_id,) in rows])
            due = min(filter(None, [due, *times.values()]), default=None)
        return due or False

    def _wait_for_held_recipients(self):
        """Once the due customers are done, the message waits for the next
        held one's time: the processing cron is woken then."""
        self.ensure_one()
        if not self._holds_recipients():
            return
        due_date = self._get_next_due_date()
        if due_date and due_date > fields.Datetime.now():
            self.due_date = due_date
            self.env.ref("customer_messages.ir_cron_customer_message_process")._trigger(
                at=due_date
            )
