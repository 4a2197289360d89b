import logging
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL

_logger = logging.getLogger(__name__)


class CustomerMessageClockMixin(models.AbstractModel):
    """What sends on a clock: recurring messages, reminder rules and the
    scheduled notices of incidents. The loop is written once here
    (``_run_due_records``, called by each model's cron):

    1. take the due records one at a time, ordered by their due time
       (``_clock_due_field``), locked with ``FOR UPDATE SKIP LOCKED``: two
       cron workers never run the same record, neither waits for the other;
    2. run each one in a savepoint (``_run_due``): its error is logged and
       handled (``_on_due_error``), the others go on; an error not listed
       in ``_clock_errors`` stops the cron, as any error does;
    3. move it to its next due time (``_set_next_due``), even when it did
       not run or failed;
    4. commit that progress (``ir.cron._commit_progress``) when the cron
       commits (``customer.message._auto_commit``).

    Each model gives its hooks: ``_get_due_domain`` (which records are due
    at ``now``), ``_is_due_now`` (whether a due record sends now, or only
    moves on: a rule outside its working slot, a schedule past its end),
    ``_run_due``, ``_on_due_error`` and ``_set_next_due``. The time helpers
    (``_get_zone``, ``_to_local``, ``_get_local_utc``) read the record's
    ``tz`` and ``hour`` fields; ``_get_clock_key`` is the idempotency key of
    one occurrence (``<prefix>-<id>-<due time in UTC>``): the same
    occurrence run twice sends nothing twice (see
    ``customer.message._send_to_customers`` ``key``).

    Separate from ``customer.message.setup.mixin`` on purpose: that one is
    about who set a record up (approval, bounds, the responsible) and is
    also used by server actions, which run on Odoo's own automation and not
    on this clock; this one is about when and how often a record sends.
    Each model on a clock inherits both."""

    _name = "customer.message.clock.mixin"
    _description = "Customer messages sent on a clock"

    # the stored datetime field (UTC) holding when the record is due next
    _clock_due_field = "next_run"
    # the prefix of the occurrences' keys (see _get_clock_key)
    _clock_key_prefix = None
    # the errors of one record's run that do not stop the others
    _clock_errors = (Exception,)

    # ------------------------------------------------------------------
    # HOOKS
    # ------------------------------------------------------------------

    @api.model
    def _get_due_domain(self, now):
        """The records due at ``now`` (naive UTC), as a domain."""
        return Domain(self._clock_due_field, "<=", now)

    def _is_due_now(self, now, due_at):
        """Whether this due record sends now; when not, it only moves to its
        next due time."""
        return True

    def _run_due(self, now, due_at):
        """Send the occurrence due at ``due_at`` (run in a savepoint)."""
        raise NotImplementedError

    def _on_due_error(self, error):
        """A run failed with one of ``_clock_errors`` (its savepoint rolled
        back): logged, the record goes on."""
        _logger.warning("%s %s could not run: %s", self._description, self.id, error)

    def _set_next_due(self, now, due_at, ran):
        """Move the record after its run (``ran``: whether it was due now,
        whatever the run's outcome); nothing by default."""

    # ------------------------------------------------------------------
    # THE LOOP
    # ------------------------------------------------------------------

    def _lock_next_due(self, now, done_ids):
        """One due record, locked; those another worker runs are skipped."""
        self.env.flush_all()
        domain = self._get_due_domain(now)
        if done_ids:
            domain &= Domain("id", "not in", list(done_ids))
        # sudo: which records are due is the scheduler's question, whoever
        # runs the cron (no record rule hides one); the record is run in the
        # caller's environment
        query = (
            self.sudo()
            .with_context(active_test=False)
            ._search(domain, order=f"{self._clock_due_field}, id", limit=1)
        )
        # sql: FOR UPDATE SKIP LOCKED, which the ORM does not offer
        self.env.cr.execute(
            SQL(
                "%s FOR UPDATE OF %s SKIP LOCKED",
                query.select(),
                SQL.identifier(self._table),
            )
        )
        row = self.env.cr.fetchone()
        return self.browse(row[0] if row else [])

    @api.model
    def _run_due_records(self, now=None):
        """Run the records due now, one at a time, each locked, run in a
        savepoint, moved to its next due time and committed (see the class).

        :param now: the cron's time (naive UTC; by default now)
        :return: the records taken, run or not
        """
        auto_commit = self.env["customer.message"]._auto_commit()
        now = now or fields.Datetime.now()
        done_ids = []
        while record := self._lock_next_due(now, done_ids):
            done_ids.append(record.id)
            due_at = record[self._clock_due_field]
            ran = record._is_due_now(now, due_at)
            if ran:
                try:
                    with self.env.cr.savepoint():
                        record._run_due(now, due_at)
                except self._clock_errors as error:
                    record._on_due_error(error)
            record._set_next_due(now, due_at, ran)
            if auto_commit:
                self.env["ir.cron"]._commit_progress(1)
        return self.browse(done_ids)

    # ------------------------------------------------------------------
    # TIME AND KEYS
    # ------------------------------------------------------------------

    def _get_clock_key(self, due_at):
        """The idempotency key of the occurrence due at ``due_at``."""
        self.ensure_one()
        return f"{self._clock_key_prefix}-{self.id}-{fields.Datetime.to_string(due_at)}"

    def _get_zone(self):
        """The record's time zone (UTC when unknown)."""
        self.ensure_one()
        try:
            return ZoneInfo(self.tz or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    def _to_local(self, moment):
        """A naive UTC datetime in the record's time zone."""
        return moment.replace(tzinfo=timezone.utc).astimezone(self._get_zone())

    def _to_local_date(self, moment):
        return self._to_local(moment).date()

    def _get_hour_minute(self):
        """The record's ``hour`` (a float) as (hours, minutes)."""
        self.ensure_one()
        minutes = min(max(round((self.hour or 0.0) * 60), 0), 24 * 60 - 1)
        return divmod(minutes, 60)

    def _get_local_utc(self, day):
        """The record's hour on this local day, as a naive UTC datetime."""
        hours, minutes = self._get_hour_minute()
        local = datetime.combine(day, time(hours, minutes), tzinfo=self._get_zone())
        return local.astimezone(timezone.utc).replace(tzinfo=None)
