"""The slowrelay scenario: the relay answers each email slowly, so that the
send lasts longer than the cron workers' real-time limit; the sending crons
must yield before it (tools/time_box.py): no cron worker killed, everybody
served once.

The limit. Odoo's master kills a cron worker ("WorkerCron (PID) timeout
after N s") that has not reported to it for limit_time_real_cron seconds. A
cron worker reports once per loop, just before it sleeps, and it sleeps up
to SLEEP_INTERVAL + pid % 10 seconds (69 s) when no cron trigger wakes it
(odoo/service/server.py, WorkerCron): the limit counts that sleep, then the
whole turn that follows. The module's sending stops at half the limit,
counted from the start of the turn. So a worker lives when

    longest sleep + limit / 2 + the last email and the end of the run < limit

that is: limit > 2 x (longest sleep + END_MARGIN). The former limit of 20 s
held none of it: a worker that no trigger woke within 20 s was killed in
its sleep, and the worker that took the next turn after sleeping through
the other's (about 10 s) reached 20 s before its own turn ended; a killed
worker's trigger is lost, so its replacements slept, and were killed in turn
(the logs of the runs that failed on a busy machine: a worker killed every
12 s). It held only while triggers came often enough, on a quiet machine.
END_MARGIN is what a loaded machine may add to the last email and the end
of the run; the relay's delay per email stays well under it.

What is checked is what happened, not how long it should take: no worker
killed (the server's log), everybody once, and the receive times spanning
more than the limit (else the run proved nothing)."""

from odoo.service.server import SLEEP_INTERVAL

from .database import look
from .server import CRON_WORKERS

# the longest sleep of an idle cron worker (SLEEP_INTERVAL + pid % 10, and
# a tenth of a second), seconds
LONGEST_SLEEP = SLEEP_INTERVAL + 10
# what a loaded 2-CPU machine may add after the run's budget: the email in
# flight, the commit, the trigger, Odoo's bookkeeping of the job (seconds)
END_MARGIN = 20
# limit_time_real_cron of the Odoo server (180 s)
TIME_LIMIT = 2 * (LONGEST_SLEEP + END_MARGIN)
# the send should last this many times the limit; the cron workers send
# side by side (the processing cron sends chunks too), each at the relay's
# pace
SPAN = 1.2
# the relay's answer per email, seconds: at least the measured relay's, at
# most a tenth of the end margin
MIN_DELAY = 0.15
MAX_DELAY = END_MARGIN / 10


def setup(args):
    """(the Odoo server's extra arguments, the relay's delay per email) of
    the scenario (nothing for the others)."""
    if args.scenario != "slowrelay":
        return [], 0.0
    delay = SPAN * TIME_LIMIT * CRON_WORKERS / max(args.count, 1)
    delay = min(max(delay, MIN_DELAY), MAX_DELAY)
    print(
        f"slowrelay: the relay answers each email after {delay:.2f} s; cron "
        f"workers' limit_time_real_cron {TIME_LIMIT} s",
        flush=True,
    )
    return ["--limit-time-real-cron", str(TIME_LIMIT)], delay


def check(registry, server, log_offset, times):
    """Problems of the scenario: a cron worker killed for its real-time
    limit (the server's log since the scenario started), or a send that did
    not outlast the limit (``times``: the receive times)."""
    with open(server.log_path, encoding="utf-8", errors="replace") as log:
        log.seek(log_offset)
        kills = [
            line.strip()
            for line in log
            if "virtual real time limit" in line
            or ("WorkerCron" in line and "timeout after" in line)
        ]
    span = max(times) - min(times) if times else 0.0
    runs = look(
        registry,
        "SELECT count(*) FROM ir_cron_progress p JOIN ir_model_data d "
        "ON d.res_id = p.cron_id AND d.model = 'ir.cron' "
        "WHERE d.module = 'customer_messages' "
        "AND d.name = 'ir_cron_customer_message_send'",
    )
    print(
        f"slowrelay: the emails arrived over {span:.0f} s (limit {TIME_LIMIT} s), "
        f"in {runs[0] if runs else '?'} runs of the sending cron; cron workers "
        f"killed for their time limit: {len(kills)}",
        flush=True,
    )
    problems = [f"a cron worker was killed: {line}" for line in kills]
    if span <= TIME_LIMIT:
        problems.append(
            f"the send lasted {span:.0f} s, not longer than the limit "
            f"({TIME_LIMIT} s): nothing was checked (give it at least "
            f"{int(SPAN * TIME_LIMIT * CRON_WORKERS / MAX_DELAY) + 1} customers, "
            f"--count)"
        )
    return problems
