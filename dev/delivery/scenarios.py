"""The scenarios of one message queued for the crons (outage, kill,
pgrestart, cancel, sms, throttle, slowrelay): the message is queued, the
Odoo server delivers it while the scenario disturbs it, then the checks."""

import os
import time

from smtp_sink import free_port

from odoo import api

from . import slowrelay
from .checks import check, check_cancel, report
from .cluster import Cluster, Watch
from .database import is_done, message_state, prepare
from .server import OdooServer
from .stand_ins import GatewaySink, start_relay, take

TIMEOUT = 600  # seconds for one scenario, at most
DISTURBED = ("kill", "pgrestart", "cancel")


def wait_for_delivery(registry, server, stand_in, got, message_id, during=None):
    """Collect what the stand-in receives until the message is done (or the
    time is up, or the server stopped); ``during(emails received so far)``
    is called on the way. Returns the message's state (see message_state)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and server.is_alive():
        got.extend(take(stand_in, 0.5))
        if during:
            during(len(got))
        if is_done(message_state(registry, message_id)):
            break
    # recorded before they were answered: all there once the lines are done
    got.extend(take(stand_in))
    return message_state(registry, message_id) or ("unknown", None, None)


def cannot_restart(args, registry=None, cluster=None):
    """Why pgrestart cannot run here, or None (without a registry: only what
    is known before connecting)."""
    if args.scenario == "pgrestart" and not args.pg_ctl:
        return (
            f"cannot run: PostgreSQL is the server given by PGHOST "
            f"({os.environ.get('PGHOST')}), which this tooling does not own and "
            f"will not restart; run it on the project's private cluster (PGHOST "
            f"unset)"
        )
    if registry is None or args.scenario != "pgrestart":
        return None
    others = cluster.others_in_use(registry)
    if others:
        return (
            f"cannot run: other databases of the cluster are in use "
            f"({others}), and restarting it would break "
            f"them (give the check a cluster of its own, see dev/delivery-check)"
        )
    return None


def run_queued(args, registry):
    """One message to ``args.count`` customers, queued for the crons, through
    the stand-in of the scenario; disturbed once a third of it arrived."""
    cluster = Cluster(args.pg_ctl, args.database)
    port = free_port()
    outage = args.outage if args.scenario == "outage" else 0
    server_args, relay_delay = slowrelay.setup(args)
    args.log_offset = os.path.getsize(args.log) if os.path.exists(args.log) else 0
    server = OdooServer(args.database, args.log, server_args)
    watch = Watch(server, registry)
    problems, got = [], []
    stand_in = None
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        rate = args.rate if args.scenario == "throttle" else 0
        sms = args.scenario == "sms"
        customers = prepare(env, port, args.count, rate, sms)
        if sms:
            expected = {f"+3247{index:07d}" for index in range(1, args.count + 1)}
            stand_in = GatewaySink(port, outage=args.outage)
        else:
            expected = set(customers.mapped("email"))
            greylisted = customers[::10].mapped("email") if outage else []
            stand_in = start_relay(port, outage, greylisted, relay_delay)
        server.start()
        message_id = (
            env["customer.message"]
            ._send_to_customers(
                customers,
                {
                    "subject": "Check {{ object.name }}",
                    "channel": "sms" if sms else "email",
                },
                process="cron",
            )
            .id
        )
        env.cr.commit()  # the cron is triggered
    # from here on, each look has a cursor of its own (PostgreSQL may restart)
    try:
        print(
            f"{args.scenario}: one message to {len(expected)} customers queued",
            flush=True,
        )
        disturb_at = args.count // 3 if args.scenario in DISTURBED else 0

        def during(count):
            nonlocal disturb_at
            watch.look()
            if disturb_at and count >= disturb_at:
                # now, in the middle of the delivery
                disturb_at = 0
                problem = disturb(
                    args, server, cluster, registry, stand_in, got, watch, message_id
                )
                if problem:
                    problems.append(problem)
                    raise Stop

        try:
            # a server that stopped is not started again: the point is that
            # it carries on
            state = wait_for_delivery(
                registry, server, stand_in, got, message_id, during
            )
        except Stop:
            got.extend(take(stand_in))
            state = message_state(registry, message_id) or ("unknown", None, None)
        if args.scenario == "pgrestart":
            watch.look()
            watch.report()
        if args.scenario == "cancel":
            problems += check_cancel(registry, message_id, state, got)
        else:
            problems += check(args, state, got, expected, server, registry)
    finally:
        server.stop()
        stand_in.stop()
    return report(args, problems)


class Stop(Exception):
    """The scenario cannot go on (its disturbance could not be made)."""


def disturb(args, server, cluster, registry, stand_in, got, watch, message_id):
    """Kill the Odoo server and start it again, restart PostgreSQL under it,
    or cancel the message; collect what was in flight. Returns a problem,
    or None."""
    if args.scenario == "cancel":
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            env["customer.message"].browse(message_id).action_cancel()
        print(f"cancel: the message cancelled after {len(got)} emails", flush=True)
        return None
    if args.scenario == "kill":
        server.kill()
        got.extend(take(stand_in))  # what was answered before the kill
        print(f"kill: Odoo killed after {len(got)} emails; restarted", flush=True)
        server.start()
        return None
    others = cluster.others_in_use(registry)
    if others:
        return (
            f"other databases of the cluster are in use ({others}): it was not "
            f"restarted under them (give the check a cluster of its own, see "
            f"dev/delivery-check)"
        )
    print(
        f"pgrestart: PostgreSQL stopped after {len(got)} emails, for "
        f"{args.pg_down} s (Odoo's processes: {server.describe(registry)})",
        flush=True,
    )
    cluster.restart(args.pg_down)
    watch.restarted()
    got.extend(take(stand_in))  # what was answered before the restart
    print(f"pgrestart: PostgreSQL started again, {len(got)} emails so far", flush=True)
    return None
