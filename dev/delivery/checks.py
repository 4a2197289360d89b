"""What a run must show, from what the stand-in received ((recipient, id,
time) rows) and the lines' states; each returns its problems."""

from collections import Counter

from . import slowrelay
from .database import line_states
from .server import CRON_WORKERS


def check(args, state, got, expected, server, registry):
    """The problems of the run."""
    counts = Counter(rcpt for rcpt, _message_id, _at in got)
    missing = expected - set(counts)
    twice = sorted(rcpt for rcpt, count in counts.items() if count > 1)
    state, pending, failed = state
    print(
        f"{args.scenario}: message {state}, {pending} pending, {failed} failed; "
        f"received {len(got)} messages for {len(counts)} of {len(expected)} "
        f"customers, {len(twice)} twice",
        flush=True,
    )
    problems = []
    if state != "sent" or pending or failed:
        problems.append(f"the message is {state} ({pending} pending, {failed} failed)")
    if missing:
        problems.append(f"{len(missing)} customers got nothing")
    allowed = CRON_WORKERS if args.scenario in ("kill", "pgrestart") else 0
    if len(twice) > allowed:
        problems.append(f"{len(twice)} customers got it twice (at most {allowed})")
    if args.scenario == "throttle":
        problems += check_rate(sorted(at for _rcpt, _id, at in got), args.rate)
    if args.scenario == "slowrelay":
        problems += slowrelay.check(
            registry, server, args.log_offset, [at for _rcpt, _id, at in got]
        )
    if args.scenario == "pgrestart":
        print(
            f"pgrestart: Odoo's processes at the end: {server.describe(registry)}",
            flush=True,
        )
        if not server.is_alive():
            problems.append(
                f"the Odoo server exited ({server.process.returncode}) "
                f"after the PostgreSQL restart"
            )
    return problems


def check_cancel(registry, message_id, state, got):
    """Problems of a cancel mid-send: each line is either Cancelled and not
    received, or Sent and received."""
    lines = {
        address: line
        for address, (line, _reason) in line_states(registry, message_id).items()
    }
    counts = Counter(rcpt for rcpt, _message_id, _at in got)
    by_state = Counter(lines.values())
    cancelled_received = [
        address
        for address, line in lines.items()
        if line == "cancelled" and address in counts
    ]
    sent_missing = [
        address
        for address, line in lines.items()
        if line == "sent" and address not in counts
    ]
    twice = [address for address, count in counts.items() if count > 1]
    print(
        f"cancel: message {state[0]}; lines {dict(by_state)}; received {len(got)} "
        f"emails for {len(counts)} customers",
        flush=True,
    )
    problems = []
    if state[0] != "cancelled" or state[1]:
        problems.append(f"the message is {state[0]} ({state[1]} lines pending)")
    if cancelled_received:
        problems.append(f"{len(cancelled_received)} lines Cancelled were received")
    if sent_missing:
        problems.append(f"{len(sent_missing)} lines Sent were not received")
    if twice:
        problems.append(f"{len(twice)} customers got it twice")
    if not by_state.get("cancelled"):
        problems.append("nothing was cancelled (the cancel came too late)")
    return problems


def check_rate(times, rate):
    """Problems with the pace of the receive times: no 60 s may hold more
    than rate emails (a slot is taken before the email leaves: 0.5 s of
    leeway for the time between the two)."""
    problems = []
    crowded = [
        index
        for index in range(len(times) - rate)
        if times[index + rate] - times[index] < 60 - 0.5
    ]
    if crowded:
        first = crowded[0]
        problems.append(
            f"{rate + 1} emails within "
            f"{times[first + rate] - times[first]:.1f} s (limit {rate}/min)"
        )
    if len(times) > 1:
        gaps = [
            later - earlier for earlier, later in zip(times, times[1:], strict=False)
        ]
        span = times[-1] - times[0]
        print(
            f"throttle: {len(times)} emails in {span:.0f} s "
            f"({60 * (len(times) - 1) / span:.1f}/min, limit {rate}/min), "
            f"gaps between emails {min(gaps):.2f}-{max(gaps):.1f} s",
            flush=True,
        )
    return problems


def report(args, problems):
    """Print the problems; the exit code of the run."""
    for problem in problems:
        print(f"{args.scenario}: PROBLEM: {problem}", flush=True)
    if problems:
        print(f"(the server's log: {args.log})", flush=True)
    return 1 if problems else 0
