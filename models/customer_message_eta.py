import time

from odoo import api, models
from odoo.tools import SQL
from odoo.tools.misc import formatLang

from .customer_message import EMAIL_CHANNELS
from .customer_message_throttle import PERIODS

# The category of outage notices, and how long one may take to reach every
# customer before the confirmation warns (customer_messages.outage_eta_minutes)
OUTAGE_CATEGORY = "customer_messages.customer_message_category_service"
OUTAGE_ETA_MINUTES = 30


class CustomerMessage(models.Model):
    """How long a send takes at the sending limits that apply to it
    (customer.message.throttle: per mail server, per recipient domain, per
    company's SMS provider), before it is sent: the composer's confirmation
    and incidents ask ``_estimate_sending_time``."""

    _inherit = "customer.message"

    @api.model
    def _estimate_sending_time(
        self, partners, channels, category=None, email_from=None, company=None
    ):
        """The time the customers of ``partners`` (a recordset or a Query)
        who can receive a message on each of ``channels`` take to get it,
        at the sending limits that apply: counted in SQL, in one query per
        channel whatever their number (the exclusions of the context's
        category apply, as in the composer's counts).

        Each email takes a slot of every limit that applies to it (those of
        the mail server that sends it, for every domain or for its
        recipient's), so the send lasts as long as its slowest limit: its
        emails divided by its pace, after the slots already taken by sends
        in flight. Emails and SMS go side by side. Emails of a category
        routed to the invoice contact are counted at the customer's own
        domain. Portal messages are not paced.

        :param channels: message channels (email, portal_email, sms, portal)
        :param category: customer.message.category of the message: an
            outage notice (Service / outages) that takes longer than
            ``customer_messages.outage_eta_minutes`` (30) gets a warning
        :param email_from: the sender, whose mail server is the one Odoo
            picks (else the company's address)
        :return: ``{"parts": [{"channel", "count", "seconds", "rate"}],
            "seconds": the longest part (None when no limit applies), "text",
            "warning": a text or False}``; ``rate`` in messages per second
            of the slowest limit, None without one
        """
        company = company or self.env.company
        parts = []
        email_channel = next((c for c in channels if c in EMAIL_CHANNELS), None)
        if email_channel:
            parts.append(
                self._estimate_email_time(partners, email_channel, email_from, company)
            )
        if "sms" in channels:
            parts.append(self._estimate_sms_time(partners, company))
        timed = [part["seconds"] for part in parts if part["rate"]]
        seconds = max(timed) if timed else None
        warning = False
        if (
            category
            and category == self.env.ref(OUTAGE_CATEGORY, raise_if_not_found=False)
            and seconds is not None
        ):
            # sudo: a setting read only
            minutes = int(
                self.env["ir.config_parameter"]
                .sudo()
                .get_param("customer_messages.outage_eta_minutes", OUTAGE_ETA_MINUTES)
            )
            if seconds > minutes * 60:
                warning = self.env._(
                    "This outage notice takes about %(duration)s to reach everyone, "
                    "more than %(minutes)s minutes: raise the sending limits "
                    "(Configuration > Sending limits) or send it by another "
                    "channel too.",
                    duration=self._format_duration(seconds),
                    minutes=minutes,
                )
        return {
            "parts": parts,
            "seconds": seconds,
            "text": "; ".join(self._describe_eta_part(part) for part in parts),
            "warning": warning,
        }

    @api.model
    def _estimate_email_time(self, partners, channel, email_from, company):
        Throttle = self.env["customer.message.throttle"]
        IrMailServer = self.env["ir.mail_server"].sudo()  # sudo: servers read only
        mail_server, _smtp_from = IrMailServer._find_mail_server(
            email_from or company.email_formatted or self.env.user.email_formatted
        )
        if not mail_server:
            # what the failover takes first (mail_mail_sending.py)
            mail_server = IrMailServer.search(
                IrMailServer._find_mail_server_allowed_domain(),
                order="sequence, id",
                limit=1,
            )
        # sudo: the limits hold whoever sends
        throttles = Throttle.sudo().search(
            [
                ("channel", "=", "email"),
                ("mail_server_id", "in", [False, mail_server.id]),
            ]
        )
        _rules, select = self._select_exclusions(partners, channel)
        # sql: the emails under each limit counted in one pass over the
        # sendable customers (their domains compared, none read)
        counts = [
            SQL(
                "count(*) FILTER (WHERE lower(split_part(partner.email_normalized, "
                "'@', 2)) = ANY(%s))",
                sorted(throttle._get_domains()),
            )
            if throttle._get_domains()
            else SQL("count(*)")
            for throttle in throttles
        ]
        self.env["res.partner"].flush_model(["email_normalized"])
        [row] = self.env.execute_query(
            SQL(
                "SELECT %s FROM (%s) AS customer "
                "JOIN res_partner AS partner ON partner.id = customer.id "
                "WHERE customer.rule IS NULL",
                SQL(", ").join([SQL("count(*)"), *counts]),
                select,
            )
        )
        covered = zip(throttles, row[1:], strict=True)
        return self._get_paced_part("email", row[0], covered)

    @api.model
    def _estimate_sms_time(self, partners, company):
        _rules, select = self._select_exclusions(partners, "sms")
        [(count,)] = self.env.execute_query(
            SQL("SELECT count(*) FROM (%s) AS customer WHERE rule IS NULL", select)
        )
        throttles = self.env["customer.message.throttle"]._get_sms_limits(company)
        return self._get_paced_part(
            "sms", count, ((throttle, count) for throttle in throttles)
        )

    @api.model
    def _get_paced_part(self, channel, count, covered):
        """The part of one channel: ``count`` messages, of which each limit
        of ``covered`` ((throttle, messages under it)) paces some."""
        now = time.time()
        seconds, rate = 0.0, None
        for throttle, throttle_count in covered:
            if not throttle_count:
                continue  # a limit of other domains does not pace these
            pace = throttle.max_count / PERIODS[throttle.period]
            # the slots sends in flight took already come first
            waiting = max((throttle.next_slot or 0.0) - now, 0.0)
            throttle_seconds = waiting + throttle_count / pace
            if rate is None or throttle_seconds > seconds:
                seconds, rate = throttle_seconds, pace
        return {"channel": channel, "count": count, "seconds": seconds, "rate": rate}

    @api.model
    def _describe_eta_part(self, part):
        count = formatLang(self.env, part["count"], digits=0)
        if part["channel"] == "sms":
            what = self.env._("%(count)s SMS", count=count)
        else:
            what = self.env._("%(count)s emails", count=count)
        if not part["rate"]:
            return self.env._("%(what)s: no sending limit", what=what)
        if part["seconds"] < 60:
            return self.env._(
                "%(what)s at %(rate)s: less than a minute",
                what=what,
                rate=self._format_rate(part["rate"]),
            )
        return self.env._(
            "%(what)s at %(rate)s: about %(duration)s",
            what=what,
            rate=self._format_rate(part["rate"]),
            duration=self._format_duration(part["seconds"]),
        )

    @api.model
    def _format_rate(self, per_second):
        for unit, seconds in (
            (self.env._("s"), 1),
            (self.env._("min"), 60),
            (self.env._("h"), 3600),
        ):
            if per_second * seconds >= 1:
                rate = round(per_second * seconds, 1)
                return f"{rate:g}/{unit}"
        return f"{round(per_second * 86400, 1):g}/{self.env._('day')}"

    @api.model
    def _format_duration(self, seconds):
        minutes = round(seconds / 60)
        if minutes < 1:
            return self.env._("less than a minute")
        days, minutes = divmod(minutes, 1440)
        hours, minutes = divmod(minutes, 60)
        if days:
            return self.env._("%(days)s d %(hours)s h", days=days, hours=hours)
        if hours:
            return self.env._(
                "%(hours)s h %(minutes)s min", hours=hours, minutes=minutes
            )
        return self.env._("%(minutes)s min", minutes=minutes)
