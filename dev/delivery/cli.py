"""The command line of dev/delivery_check.py: one scenario per run, on the
database given (dev/delivery-check copies a fresh one for each)."""

import argparse
import logging
import shlex
import warnings

from odoo.modules.registry import Registry
from odoo.tools import config

from .cluster import Cluster
from .gates import run_blacklisted, run_doubleclick
from .scenarios import cannot_restart, run_queued

SCENARIOS = (
    "outage",
    "kill",
    "pgrestart",
    "cancel",
    "sms",
    "throttle",
    "doubleclick",
    "blacklisted",
    "slowrelay",
)
# the scenarios with a run of their own; the others are run_queued's
OWN_RUNS = {"doubleclick": run_doubleclick, "blacklisted": run_blacklisted}


def parse_args(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--scenario", choices=SCENARIOS, required=True)
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--outage", type=int, default=20, help="seconds")
    parser.add_argument(
        "--rate", type=int, default=30, help="emails per minute (throttle)"
    )
    parser.add_argument(
        "--pg-ctl",
        type=shlex.split,
        default=[],
        help="the pg_ctl command of the private cluster, quoted for the shell "
        "(pgrestart)",
    )
    parser.add_argument(
        "--pg-down", type=int, default=5, help="seconds PostgreSQL is down"
    )
    parser.add_argument("--log", default="/tmp/customer_messages_delivery_check.log")
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    if args.scenario == "pgrestart" and not args.pg_ctl:
        # before anything of Odoo: PostgreSQL is not this tooling's
        return refuse(args, cannot_restart(args))
    config.parse_config(
        ["--database", args.database, "--no-http", "--log-level=warn"],
        setup_logging=True,
    )
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    registry = Registry(args.database)
    if args.scenario in OWN_RUNS:
        return OWN_RUNS[args.scenario](args, registry)
    problem = cannot_restart(args, registry, Cluster(args.pg_ctl, args.database))
    if problem:
        return refuse(args, problem)
    return run_queued(args, registry)


def refuse(args, problem):
    """The scenario cannot run here: why; the exit code."""
    print(f"{args.scenario}: PROBLEM: {problem}", flush=True)
    return 1
