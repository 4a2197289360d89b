"""The command line of dev/bench, and the order of the run: the data, the
composer, the warm-ups, the paths, the smtplib baseline, the documents, the
report. Exits 0 when every path delivered exactly one email per customer, 1
otherwise (2 for wrong options)."""

import argparse
import cProfile
import functools
import threading
import time
from types import SimpleNamespace

from smtp_sink import SMTPSink

from odoo import api
from odoo.modules.registry import Registry

from .composer import (
    measure_composer,
    measure_eta,
    print_composer,
    print_eta,
    profile_composer,
)
from .context import Context
from .data import count_customers, customer_names, prepare
from .documents import run_documents
from .measure import Meter
from .paths import PATHS, run_customer_messages, run_smtplib
from .report import print_profile, print_ratios, print_results
from .results import attempt, check_received, warm_up
from .retention import run_retention
from .workers import CronWorkers, setup_odoo

# the raw smtplib baseline sends at most this many (it builds them first)
SMTPLIB_MAX = 5000


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="dev/bench",
        description="Customer messages against Odoo's mass mailing, "
        "to an SMTP server on 127.0.0.1.",
    )
    parser.add_argument(
        "--count",
        type=positive_int,
        default=1000,
        help="recipients per path (default 1000)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="send once more with customer_messages under cProfile "
        "and print where the time goes",
    )
    parser.add_argument(
        "--only",
        choices=[name for name, _run in PATHS],
        help="run only this path (and the smtplib baseline), e.g. while working on it",
    )
    parser.add_argument(
        "--queue-only",
        action="store_true",
        help="stop each path of this module once its recipients are queued "
        "(no rendering, no delivery): the time and memory of queueing alone, "
        "e.g. with --count 100000 --only customer_messages",
    )
    parser.add_argument(
        "--runs",
        type=positive_int,
        default=1,
        help="run each path this many times (new messages to the same customers)",
    )
    parser.add_argument(
        "--profile-composer",
        action="store_true",
        help="also measure the composer's changes under cProfile",
    )
    parser.add_argument(
        "--no-composer",
        action="store_true",
        help="do not measure the composer's filter changes",
    )
    parser.add_argument(
        "--documents",
        type=int,
        default=0,
        metavar="N",
        help="also send N customers their own invoice as a PDF, freshly "
        "rendered and stored, against Invoicing's Send (account.move.send)",
    )
    parser.add_argument(
        "--retention",
        type=int,
        default=0,
        metavar="LINES",
        help="measure the retention instead of the paths: LINES old recipient "
        "lines with their bodies (in messages of --count customers each) "
        "purged by its scheduled action, and the table sizes before and after",
    )
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--check-args", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.check_args and not args.database:
        parser.error("--database is required (dev/bench prepares it)")
    return args


def main(argv):
    args = parse_args(argv)
    if args.check_args:
        return 0
    setup_odoo(args.database)
    threading.current_thread().dbname = args.database
    registry = Registry(args.database)
    sink = SMTPSink()
    results = []
    ctx = None
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            env = env(context=env["res.users"].context_get())
            ctx = Context(
                env, Meter(args.database, sink.pid), queue_only=args.queue_only
            )
            results = bench(ctx, sink, args)
            cr.rollback()
    finally:
        if ctx and ctx.workers:
            ctx.workers.stop()
        sink.stop()
    return 1 if any(result.problems for result in results) else 0


def bench(ctx, sink, args):
    """The whole run, printed: the results of every path."""
    env = ctx.env
    start = time.perf_counter()
    customers, warmup = prepare(env, sink.port, args.count)
    total = count_customers(env)
    print(f"{total} customers made in {time.perf_counter() - start:.1f} s", flush=True)
    if args.retention:
        return [run_retention_result(ctx, args, customers)]
    names = customer_names(env, customers)
    warmup_names = customer_names(env, warmup)
    env.invalidate_all()
    if not args.no_composer:
        print("measuring the composer", flush=True)
        print_composer(*measure_composer(env), total)
        print_eta(*measure_eta(env))
    if args.profile_composer:
        profile_composer(env)
    paths = [
        (name, run)
        for name, run in PATHS
        if (not args.only or name == args.only)
        and (not ctx.queue_only or name == "customer_messages")
    ]
    ctx.workers = CronWorkers(args.database)
    ctx.meter.worker_pids = ctx.workers.pids

    print(f"warming up both paths on {len(warmup)} other customers", flush=True)
    check = (
        None
        if ctx.queue_only
        else functools.partial(check_received, names=warmup_names)
    )
    for name, run in paths:
        warm_up(ctx, sink, name, run, warmup, check)

    results = []
    for run_index in range(args.runs):
        for name, run in paths:
            print(f"{'queueing' if ctx.queue_only else 'sending'}: {name}", flush=True)
            env.invalidate_all()
            result = ctx.meter.measured(attempt, ctx, name, run, customers)
            if args.runs > 1:
                result.name += f" #{run_index + 1}"
            results.append(result)
            if not ctx.queue_only:
                check_received(result, sink.take(), names)
    if not ctx.queue_only:
        # last: its prebuilt messages would stay in the memory of this
        # process, under the peak of the paths after it
        results.insert(0, bench_smtplib(ctx, sink, names))
    if args.documents and not ctx.queue_only:
        results += run_documents(ctx, sink, args.documents, args.runs)
    print_results(results, env, sink.port, ctx.queue_only)
    print_ratios(results)
    if args.profile:
        results.append(profile_customer_messages(ctx, sink, customers, names))
    return results


def run_retention_result(ctx, args, customers):
    """The retention measure alone, as a result (problems when lines are
    left or counts lost)."""
    ok = run_retention(ctx.env, args.database, customers, args.retention)
    return SimpleNamespace(problems=[] if ok else ["retention"])


def bench_smtplib(ctx, sink, names):
    """The raw smtplib baseline, measured and checked."""
    smtplib_names = dict(list(names.items())[:SMTPLIB_MAX])
    print(f"sending to {len(smtplib_names)} customers: raw smtplib", flush=True)
    result = ctx.meter.measured(
        run_smtplib, sink.port, smtplib_names, ctx.env.user.email_formatted
    )
    check_received(result, sink.take(), smtplib_names)
    return result


def profile_customer_messages(ctx, sink, partners, names):
    """Send once more (a new message to the same customers) under cProfile."""
    profiler = cProfile.Profile()
    profiler.enable()
    result = attempt(ctx, "customer_messages", run_customer_messages, partners)
    profiler.disable()
    if not ctx.queue_only:
        check_received(result, sink.take(), names)
    print()
    if result.error:
        print(f"customer_messages under cProfile: FAILED: {result.error}")
        return result
    print(
        "customer_messages under cProfile (slower than above): "
        f"queue {result.queue_time:.2f} s, deliver {result.deliver_time:.2f} s, "
        f"{len(partners) / result.total_time:.1f} msg/s"
    )
    print_profile(profiler)
    return result
