import logging
import random
import time

import psycopg2.errors
from psycopg2.extensions import ISOLATION_LEVEL_READ_COMMITTED

from odoo import api, fields, models, sql_db
from odoo.exceptions import ValidationError
from odoo.tools import SQL, config
from odoo.tools.mail import email_normalize

from ..tools import time_box

_logger = logging.getLogger(__name__)

PERIODS = {"minute": 60, "hour": 3600, "day": 86400}
# Tries of a slot claim that lost to another worker's, before the message is
# held for a later run (each loss means another worker got its slot)
SLOT_CLAIM_TRIES = 20


class CustomerMessageThrottle(models.Model):
    """A sending limit: at most N emails (or SMS) per minute, hour or day,
    through one outgoing mail server, to some recipient domains, or through
    a company's SMS provider. It holds for every worker and server sending
    the module's messages on the database.

    A limit paces the sending evenly: one message every period / N, never a
    burst at the start of the period (the generic cell rate algorithm: the
    next free slot is kept in ``next_slot`` and taken under a row lock, so
    two workers never get the same slot). What is over the limit waits for
    its slot; nothing is failed for it."""

    _name = "customer.message.throttle"
    _description = "Customer Message Sending Limit"
    _order = "channel, mail_server_id, recipient_domains, id"

    channel = fields.Selection(
        [("email", "Email"), ("sms", "SMS")], required=True, default="email"
    )
    mail_server_id = fields.Many2one(
        "ir.mail_server",
        string="Outgoing mail server",
        ondelete="cascade",
        help="The server whose emails are limited; empty: whichever server sends them.",
    )
    recipient_domains = fields.Char(
        help="The recipients' domains this limit is for, separated by commas "
        "(gmail.com, googlemail.com); empty: every domain. Each domain of the "
        "list counts towards the same limit.",
    )
    company_id = fields.Many2one(
        "res.company",
        help="The company whose SMS provider is limited; empty: every company.",
    )
    max_count = fields.Integer(string="At most", required=True, default=30)
    period = fields.Selection(
        [("minute", "per minute"), ("hour", "per hour"), ("day", "per day")],
        required=True,
        default="minute",
    )
    active = fields.Boolean(default=True)
    next_slot = fields.Float(
        readonly=True,
        copy=False,
        help="Technical: when the next message may go (seconds since the epoch).",
    )

    _max_count_positive = models.Constraint(
        "CHECK (max_count > 0)", "A sending limit allows at least one message."
    )

    @api.depends(
        "channel", "mail_server_id", "recipient_domains", "max_count", "period"
    )
    def _compute_display_name(self):
        periods = dict(self._fields["period"]._description_selection(self.env))
        for throttle in self:
            scope = (
                throttle.mail_server_id.name or self.env._("any server")
                if throttle.channel == "email"
                else throttle.company_id.name or self.env._("SMS")
            )
            if throttle.channel == "email" and throttle.recipient_domains:
                scope = self.env._(
                    "%(scope)s to %(domains)s",
                    scope=scope,
                    domains=throttle.recipient_domains,
                )
            throttle.display_name = self.env._(
                "%(count)s %(period)s (%(scope)s)",
                count=throttle.max_count,
                period=periods.get(throttle.period, ""),
                scope=scope,
            )

    @api.constrains("channel", "mail_server_id", "recipient_domains")
    def _check_channel_scope(self):
        for throttle in self:
            if throttle.channel == "sms" and (
                throttle.mail_server_id or throttle.recipient_domains
            ):
                raise ValidationError(
                    self.env._(
                        "An SMS limit is for a company's SMS provider: it has no "
                        "mail server nor recipient domains."
                    )
                )
            for domain in throttle._get_domains():
                if "@" in domain or "." not in domain or " " in domain:
                    raise ValidationError(
                        self.env._(
                            "%(domain)s is not a domain name: write the part after "
                            "the @, e.g. gmail.com.",
                            domain=domain,
                        )
                    )

    def write(self, vals):
        if {"max_count", "period"} & set(vals):
            # a new pace starts now, not after the slots of the old one
            vals = dict(vals, next_slot=0)
        return super().write(vals)

    def _get_domains(self):
        self.ensure_one()
        return {
            domain.strip().lower()
            for domain in (self.recipient_domains or "").split(",")
            if domain.strip()
        }

    # ------------------------------------------------------------------
    # WHICH LIMITS APPLY
    # ------------------------------------------------------------------

    @api.model
    def _get_email_limits(self, mail_server):
        """A function (recipient domain -> the limits its emails through
        mail_server take a slot of), or None when no limit applies at all,
        so that unlimited sending costs nothing per email."""
        # sudo: the limits hold whoever sends
        throttles = self.sudo().search(
            [
                ("channel", "=", "email"),
                ("mail_server_id", "in", [False, mail_server.id]),
            ]
        )
        if not throttles:
            return None
        domains = {throttle: throttle._get_domains() for throttle in throttles}
        by_domain = {}

        def limits_for(recipient_domain):
            if recipient_domain not in by_domain:
                by_domain[recipient_domain] = throttles.filtered(
                    lambda throttle: not domains[throttle]
                    or recipient_domain in domains[throttle]
                )
            return by_domain[recipient_domain]

        return limits_for

    @api.model
    def _get_sms_limits(self, company):
        # sudo: the limits hold whoever sends
        return self.sudo().search(
            [("channel", "=", "sms"), ("company_id", "in", [False, company.id])]
        )

    # ------------------------------------------------------------------
    # TAKING A SLOT
    # ------------------------------------------------------------------

    def _reserve(self, cr, max_wait=0.0):
        """Take the next slot of all these limits at once, if it comes
        within max_wait seconds: (True, slot, nothing) - the message goes
        at that time (seconds since the epoch) - or (False, slot, the limits
        that hold it) - it may not go before. The slot is taken under a
        lock of the limits' rows on cr, which the caller commits (or rolls
        back) at once: other workers wait for it the time of one
        statement."""
        if not self:
            return True, time.time(), self
        self.flush_recordset(["next_slot"])
        cr.execute(
            SQL(
                "SELECT id, next_slot, max_count, period "
                "FROM customer_message_throttle WHERE id = ANY(%s) "
                "ORDER BY id FOR UPDATE",
                self.ids,
            ),
            # a claim that loses to another worker's is the caller's to retry
            log_exceptions=False,
        )
        rows = cr.fetchall()
        now = time.time()
        slot = max([now] + [next_slot or 0.0 for _id, next_slot, *_rest in rows])
        if slot - now > max_wait:
            holding = self.browse(
                throttle_id
                for throttle_id, next_slot, *_rest in rows
                if (next_slot or 0.0) - now > max_wait
            )
            return False, slot, holding
        for throttle_id, next_slot, max_count, period in rows:
            cr.execute(
                SQL(
                    "UPDATE customer_message_throttle SET next_slot = %s WHERE id = %s",
                    max(next_slot or 0.0, slot) + PERIODS[period] / max_count,
                    throttle_id,
                )
            )
        self.invalidate_recordset(["next_slot"])
        return True, slot, self.browse()


class Pacer:
    """The sending limits as one sending run meets them, email after email:
    each email takes a slot of the limits that apply to it, waiting for it
    when it comes soon enough (within the run's waiting budget), or is held
    until then. Once a limit of every email of a server holds one, the run
    stops: the rest would be held too."""

    # the longest wait for one slot (seconds)
    MAX_WAIT = 5.0

    def __init__(self, env, cr, wait=True):
        """:param cr: where the slots are taken and committed at once (a
            cursor of its own in crons), or the transaction's cursor
        :param bool wait: whether to wait for slots at all (not in a
            request or a test transaction)"""
        self.env = env
        self.cr = cr
        self.autocommit = cr is not env.cr
        if self.autocommit:
            # A cursor of its own, fresh: its transactions only take slots.
            # READ COMMITTED: a claim waiting for another worker's lock then
            # reads the slot that worker left, where REPEATABLE READ (Odoo's
            # level) would fail it with a serialization error. The pool
            # gives the next cursor of this connection Odoo's level again.
            cr.commit()  # pylint: disable=invalid-commit
            if isinstance(cr, sql_db.Cursor):
                # a connection of its own (a test cursor shares the test's
                # transaction, which changing the level would roll back)
                cr.connection.set_isolation_level(ISOLATION_LEVEL_READ_COMMITTED)
        budget = self._wait_budget() if wait else 0.0
        left = time_box.remaining(env)
        if left is not None:
            # no wait past the cron worker's turn either (tools/time_box.py)
            budget = min(budget, left)
        self.deadline = time.monotonic() + budget
        self.limits = {}
        self.held_until = {}  # limits -> slot, once refused
        self.stopped = False

    @staticmethod
    def _wait_budget():
        """How long one run may wait for slots in all: half the time a cron
        job may run (limit_time_real_cron, else limit_time_real), so that the
        worker ends its run well before it would be killed."""
        limit = config["limit_time_real_cron"]
        if not limit or limit < 0:
            limit = config["limit_time_real"] or 120
        return max(min(limit / 2, 300.0), 5.0)

    def take_slot(self, mail, mail_server):
        """None when the email may go now (after waiting for its slot), or
        the time (seconds since the epoch) before which it may not."""
        if mail_server.id not in self.limits:
            self.limits[mail_server.id] = self.env[
                "customer.message.throttle"
            ]._get_email_limits(mail_server)
        limits_for = self.limits[mail_server.id]
        if limits_for is None:
            return None
        return self.take(limits_for(self._recipient_domain(mail)))

    def take(self, limits):
        """None when a message under these limits may go now (after waiting
        for its slot), or the time before which it may not."""
        if not limits:
            return None
        held_until = self.held_until.get(limits)
        if held_until and held_until > time.time():
            return held_until
        max_wait = min(self.MAX_WAIT, max(self.deadline - time.monotonic(), 0.0))
        claim = self._claim(limits, max_wait)
        if claim is None:
            # lost to other workers every time: held for a moment, never
            # failed
            return time.time() + 1.0
        reserved, slot, holding = claim
        if not reserved:
            self.held_until[limits] = slot
            if any(not throttle.recipient_domains for throttle in holding):
                self.stopped = True
            return slot
        delay = slot - time.time()
        if delay > 0:
            time.sleep(delay)
        return None

    def _claim(self, limits, max_wait):
        """limits._reserve in a transaction of its own (crons), committed
        at once; a claim that loses to another worker's (a serialization
        failure or a deadlock) is tried again, so that contention on a
        shared limit never fails the run. None when it lost every time."""
        if not self.autocommit:
            # the caller's transaction (a request, a test): what it does
            # with a conflict is its own
            return limits._reserve(self.cr, max_wait)
        for attempt in range(SLOT_CLAIM_TRIES):
            try:
                claim = limits._reserve(self.cr, max_wait)
                # the slot is taken, the rows unlocked
                self.cr.commit()  # pylint: disable=invalid-commit
                return claim
            except (
                psycopg2.errors.SerializationFailure,
                psycopg2.errors.DeadlockDetected,
            ) as error:
                self.cr.rollback()
                _logger.info(
                    "Customer messages: slot of %s taken by another worker (%s), again",
                    limits,
                    error.__class__.__name__,
                )
                limits.invalidate_recordset(["next_slot"])
                time.sleep(random.uniform(0.0, 0.01 * (attempt + 1)))  # noqa: S311
        return None

    @staticmethod
    def _recipient_domain(mail):
        address = mail.recipient_ids[:1].email_normalized or email_normalize(
            mail.email_to or ""
        )
        return (address or "").rpartition("@")[2]
