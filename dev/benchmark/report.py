"""The printed report: per path its timings, rates, SQL queries, CPU time,
memory, notes and what the SMTP server received; then the issue's ratios."""

import os
import pstats
import re
import statistics
import sys

import odoo

PROFILE_LINES = 30


def print_results(results, env, port, queue_only=False):
    env.cr.execute("SHOW server_version")
    pg_version = env.cr.fetchone()[0]
    python_version = sys.version.split()[0]
    print()
    print(
        f"Odoo {odoo.release.version}, PostgreSQL {pg_version}, "
        f"Python {python_version}, aiosmtpd on 127.0.0.1:{port} in another process, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    print_table(results)
    print()
    print_queries(results)
    print_cpu(results)
    print_memory_and_notes(results)
    for result in results:
        if queue_only and result.name.startswith("customer_messages"):
            continue
        print(
            f"{result.name}: the SMTP server received {result.received} messages "
            f"for {result.recipients} recipients"
        )
        for problem in result.problems:
            print(f"{result.name}: PROBLEM: {problem}")


def print_table(results):
    header = (
        f"{'path':<44}{'recipients':>11}{'queue s':>10}{'deliver s':>11}"
        f"{'total s':>10}{'msg/s':>9}{'deliver/s':>11}{'SQL/msg':>9}  SMTP received"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        count = result.recipients
        if result.error:
            print(f"{result.name:<44}{count:>11}  FAILED: {result.error}")
            continue
        queue = "-" if result.queue_time is None else f"{result.queue_time:.2f}"
        sql = "-"
        if result.queue_queries is not None:
            sql = f"{(result.queue_queries + result.deliver_queries) / count:.1f}"
        status = "PROBLEM" if result.problems else "exactly N"
        print(
            f"{result.name:<44}{count:>11}{queue:>10}{result.deliver_time:>11.2f}"
            f"{result.total_time:>10.2f}{count / result.total_time:>9.1f}"
            f"{count / result.deliver_time:>11.1f}{sql:>9}"
            f"  {result.received} ({status})"
        )


def print_queries(results):
    for result in results:
        count = result.recipients
        if result.queue_queries is not None and not result.error:
            print(
                f"{result.name}: SQL queries {result.queue_queries} to queue "
                f"+ {result.deliver_queries} to deliver "
                f"= {result.queue_queries / count:.1f} "
                f"+ {result.deliver_queries / count:.1f} per message; "
                f"{result.queue_time * 1000 / count:.2f} ms "
                f"+ {result.deliver_time * 1000 / count:.2f} ms per message"
            )


def print_cpu(results):
    cpus = os.cpu_count()
    for result in results:
        if not result.cpu or result.error:
            continue
        for label, cpu in (("in all", result.cpu), ("to deliver", result.deliver_cpu)):
            per_message = {
                group: seconds * 1000 / result.recipients
                for group, seconds in cpu.items()
            }
            total = sum(per_message.values())
            if not total:  # nothing delivered (--queue-only)
                continue
            spent = ", ".join(
                f"{group} {ms:.2f}"
                for group, ms in per_message.items()
                if ms or group != "wkhtmltopdf"
            )
            print(
                f"{result.name}: CPU ms per message {label}: {spent} = {total:.2f}; "
                f"{cpus} CPUs allow at most {cpus * 1000 / total:.0f} msg/s"
            )


def print_memory_and_notes(results):
    for result in results:
        if result.peak_rss:
            peaks = ", ".join(
                f"{label} {mb:.0f} (+{mb - result.start_rss.get(label, mb):.0f})"
                for label, mb in result.peak_rss.items()
            )
            print(f"{result.name}: peak RSS MB (+ over its start): {peaks}")
    for result in results:
        for note in result.notes:
            print(f"{result.name}: {note}")


# The targets, as ratios of rates in the same run: (what, path,
# baseline, the rates compared: end to end ("total") or of delivery alone
# ("deliver"), target ratio or None for a figure without target)
RATIOS = (
    (
        "plain emails, end to end",
        "customer_messages, 2 crons",
        "mass_mailing",
        "total",
        None,
    ),
    (
        "plain emails, delivery",
        "customer_messages, 2 crons, queued",
        "mass_mailing",
        "deliver",
        10.0,
    ),
    (
        "plain emails, delivery",
        "customer_messages, 2 crons, queued",
        "raw smtplib, 1 connection",
        "deliver",
        0.4,
    ),
    (
        "fresh invoice PDFs, end to end",
        "fresh PDF: customer_messages, 2 crons",
        "fresh PDF: account.move.send",
        "total",
        3.0,
    ),
    (
        "stored invoice PDFs, end to end",
        "stored PDF: customer_messages, 2 crons",
        "stored PDF: account.move.send",
        "total",
        8.0,
    ),
)


def print_ratios(results):
    """The rate of each path against its baseline (min / median / max over
    the runs, paired run by run), against the target."""
    rates = {}
    for result in results:
        if result.error or not result.deliver_time:
            continue
        name = re.sub(r" #\d+$", "", result.name)
        rates.setdefault(name, []).append(
            {
                "total": result.recipients / result.total_time,
                "deliver": result.recipients / result.deliver_time,
            }
        )
    print()
    for what, path, baseline, measure, target in RATIOS:
        if path not in rates or baseline not in rates:
            continue
        ratios = sorted(
            rate[measure] / base[measure]
            for rate, base in zip(rates[path], rates[baseline], strict=False)
        )
        low, median, high = ratios[0], statistics.median(ratios), ratios[-1]
        verdict = ""
        if target:
            reached = "reached" if low >= target else "NOT reached"
            verdict = f"; target {target}x: {reached}"
        print(
            f"{what}: {path} / {baseline} = {low:.2f} / {median:.2f} / {high:.2f}x "
            f"(min / median / max of {len(ratios)}{verdict})"
        )


def print_profile(profiler):
    """Where the time went, by cumulative then by own time."""
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    stats.sort_stats("cumulative").print_stats(PROFILE_LINES)
    stats.sort_stats("tottime").print_stats(PROFILE_LINES)
