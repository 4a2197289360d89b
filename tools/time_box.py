"""How long one turn of a cron worker may spend sending, so that the worker
is never killed by Odoo's real-time limit (limit_time_real_cron, else
limit_time_real): a cron worker process is killed when one turn of its
work (every ready job of the database, one after the other) outlasts it.

The turn starts when the worker takes its first job of the database
(ir.cron._process_job, see models/ir_cron.py); the sending loops stop by
themselves once half the limit is spent (at most MAX_RUN seconds) and leave
the rest to the next run of their cron, triggered at once."""

import threading
import time

from odoo.tools import config

# The longest turn of sending when Odoo sets no time limit (seconds)
MAX_RUN = 300.0
# The shortest: a few emails even with a tiny limit (seconds)
MIN_RUN = 2.0

_turn = threading.local()


def time_limit():
    """The real-time limit of a cron job in seconds, 0 for none, read as
    Odoo reads it: limit_time_real_cron, or limit_time_real when that is
    -1 (the default) or 0 (the threaded server also falls back then)."""
    limit = config.get("limit_time_real_cron") or 0
    if limit <= 0:
        limit = config.get("limit_time_real") or 0
    return max(limit, 0)


def run_budget():
    """Seconds one turn may spend sending: half the limit, at most MAX_RUN."""
    limit = time_limit()
    if not limit:
        return MAX_RUN
    return max(min(limit / 2, MAX_RUN), MIN_RUN)


def start_turn(cron_cr):
    """A cron worker takes a job: the first job of a turn (a new cursor of
    ir.cron's job loop) starts the clock; the jobs after it in that turn
    share what is left."""
    if getattr(_turn, "cursor", None) is not cron_cr:
        _turn.cursor = cron_cr
        _turn.started = time.monotonic()


def end_turn():
    """Forget the turn under way: the next job starts a clock of its own
    (a job run by hand, ir.cron ``method_direct_trigger``, is a turn of its
    own whatever ran before on its cursor)."""
    _turn.cursor = _turn.started = None


def remaining(env):
    """Seconds the cron job running in env may still spend sending (at
    least 0), None outside a cron job (a request is not cut short)."""
    started = getattr(_turn, "started", None)
    if not env.context.get("cron_id") or started is None:
        return None
    return max(started + run_budget() - time.monotonic(), 0.0)


def expired(env):
    """Whether the sending of the cron job running in env must stop now."""
    return remaining(env) == 0.0
