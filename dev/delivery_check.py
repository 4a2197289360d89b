"""Delivery checks against a real multi-process Odoo server (run by
dev/delivery-check).

A real Odoo server (``--workers 2 --max-cron-threads 2``: two HTTP workers,
two cron worker processes, the websocket worker) sends one customer message
to N customers through a fault-injecting SMTP server on 127.0.0.1 (aiosmtpd in
a process of its own). The scenarios:

- outage: the relay refuses connections for the first S seconds, and
  greylists (451) every tenth address at its first try: everybody gets the
  email once, nobody is failed, and delivery resumes by itself;
- kill: the Odoo server is killed (SIGKILL, every process of it) in the
  middle of the delivery, then started again: nobody is lost, at most one
  email per cron worker arrives twice, the rest goes out by itself;
- throttle: a sending limit of R emails per minute on the relay, shared by
  the two cron workers: no 60 seconds of the server's receive times hold
  more than R emails, and everybody gets the email once.

It prints what the SMTP server received and exits non-zero on any problem.

    python dev/delivery_check.py --database cm_delivery --scenario kill [--count N]
"""

import argparse
import email
import email.policy
import logging
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections import Counter

from aiosmtpd.controller import Controller

from odoo import api
from odoo.modules.registry import Registry
from odoo.tools import config

CRON_WORKERS = 2
TIMEOUT = 600  # seconds for one scenario, at most


class FaultyHandler:
    """Records each message (recipient, Message-Id); greylists the
    addresses in ``greylisted`` at their first try."""

    def __init__(self, connection, greylisted):
        self.connection = connection
        self.greylisted = set(greylisted)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.greylisted:
            self.greylisted.discard(address)
            return "451 4.7.1 Greylisted, please try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(
            envelope.content, policy=email.policy.default
        )
        for rcpt in envelope.rcpt_tos:
            self.connection.send((rcpt, message["Message-Id"], time.time()))
        return "250 Message accepted for delivery"


def serve_smtp(port, connection, outage, greylisted):
    """The SMTP server: closed (connections refused) for ``outage`` seconds,
    then listening until killed."""
    time.sleep(outage)
    Controller(
        FaultyHandler(connection, greylisted), hostname="127.0.0.1", port=port
    ).start()
    while True:
        time.sleep(3600)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OdooServer:
    """Odoo (dev/odoo-bin) in multi-process mode, in a process group of its
    own so that all its processes can be killed at once."""

    def __init__(self, database, log_path):
        self.database = database
        self.log_path = log_path
        self.process = None

    def start(self):
        log = open(self.log_path, "a", encoding="utf-8")  # noqa: SIM115
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter
            [
                sys.executable,
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "odoo-bin"),
                "--database",
                self.database,
                "--db-filter",
                f"^{self.database}$",
                "--workers",
                "2",
                "--max-cron-threads",
                str(CRON_WORKERS),
                "--http-interface",
                "127.0.0.1",
                "--http-port",
                str(free_port()),
                "--gevent-port",
                str(free_port()),
                "--log-level",
                "warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def prepare(env, port, count, rate=0):
    """Customers, the relay (with a limit of rate emails per minute), short
    retry delays; only the module's crons."""
    env["ir.mail_server"].search([]).active = False
    relay = env["ir.mail_server"].create(
        {
            "name": "Faulty relay",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_encryption": "none",
        }
    )
    if rate:
        env["customer.message.throttle"].create(
            {"mail_server_id": relay.id, "max_count": rate, "period": "minute"}
        )
    env.company.email = "isp@example.com"
    params = env["ir.config_parameter"]
    params.set_param("customer_messages.retry_first_delay", "3")
    params.set_param("customer_messages.retry_max_delay", "6")
    ours = env.ref("customer_messages.ir_cron_customer_message_process") | env.ref(
        "customer_messages.ir_cron_customer_message_send"
    )
    env["ir.cron"].search([("id", "not in", ours.ids)]).active = False
    customers = env["res.partner"].create(
        [
            {
                "name": f"Check Customer {index:05d}",
                "email": f"check.{index:05d}@example.com",
                "customer_status": "active",
            }
            for index in range(1, count + 1)
        ]
    )
    env.cr.commit()
    return customers


def message_state(env, message):
    env.cr.execute(
        "SELECT m.state, count(r.id) FILTER (WHERE r.state IN ('new', 'processing')),"
        " count(r.id) FILTER (WHERE r.state = 'error') "
        "FROM customer_message m JOIN customer_message_recipient r "
        "ON r.message_id = m.id WHERE m.id = %s GROUP BY m.state",
        [message.id],
    )
    state = env.cr.fetchone()
    env.cr.commit()  # a new snapshot for the next look
    return state


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


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument(
        "--scenario", choices=("outage", "kill", "throttle"), required=True
    )
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--outage", type=int, default=20, help="seconds")
    parser.add_argument(
        "--rate", type=int, default=30, help="emails per minute (throttle)"
    )
    parser.add_argument("--log", default="/tmp/customer_messages_delivery_check.log")
    args = parser.parse_args(argv)
    config.parse_config(
        ["--database", args.database, "--no-http", "--log-level=warn"],
        setup_logging=True,
    )
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    registry = Registry(args.database)
    port = free_port()
    received, child = multiprocessing.Pipe()
    outage = args.outage if args.scenario == "outage" else 0
    server = OdooServer(args.database, args.log)
    problems = []
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        rate = args.rate if args.scenario == "throttle" else 0
        customers = prepare(env, port, args.count, rate)
        greylisted = customers[::10].mapped("email") if outage else []
        smtp = multiprocessing.Process(
            target=serve_smtp, args=(port, child, outage, greylisted), daemon=True
        )
        smtp.start()
        server.start()
        got = []
        try:
            message = env["customer.message"]._send_to_customers(
                customers,
                {"subject": "Check {{ object.name }}", "channel": "email"},
                process="cron",
            )
            env.cr.commit()  # the cron is triggered
            print(
                f"{args.scenario}: one message to {len(customers)} customers queued",
                flush=True,
            )
            deadline = time.monotonic() + TIMEOUT
            killed = False
            kill_at = args.count // 3 if args.scenario == "kill" else 0
            while time.monotonic() < deadline:
                while received.poll(0.5):
                    got.append(received.recv())
                    if kill_at and not killed and len(got) >= kill_at:
                        break  # kill now, in the middle of the delivery
                if kill_at and not killed and len(got) >= kill_at:
                    server.kill()
                    killed = True
                    while received.poll(1):  # what was in flight
                        got.append(received.recv())
                    print(
                        f"kill: Odoo killed after {len(got)} emails; restarted",
                        flush=True,
                    )
                    server.start()
                state, pending, failed = message_state(env, message)
                if state not in ("new", "processing") and not pending:
                    break
            while received.poll(1):
                got.append(received.recv())
            state, pending, failed = message_state(env, message)
        finally:
            server.stop()
            smtp.kill()
        counts = Counter(rcpt for rcpt, _message_id, _at in got)
        expected = set(customers.mapped("email"))
        missing = expected - set(counts)
        twice = sorted(rcpt for rcpt, count in counts.items() if count > 1)
        print(
            f"{args.scenario}: message {state}, {pending} pending, {failed} failed; "
            f"received {len(got)} emails for {len(counts)} of {len(expected)} "
            f"customers, {len(twice)} twice",
            flush=True,
        )
        if state != "sent" or pending or failed:
            problems.append(
                f"the message is {state} ({pending} pending, {failed} failed)"
            )
        if missing:
            problems.append(f"{len(missing)} customers got nothing")
        allowed = CRON_WORKERS if args.scenario == "kill" else 0
        if len(twice) > allowed:
            problems.append(f"{len(twice)} customers got it twice (at most {allowed})")
        if rate:
            problems += check_rate(sorted(at for _rcpt, _message_id, at in got), rate)
        env.cr.rollback()
    for problem in problems:
        print(f"{args.scenario}: PROBLEM: {problem}", flush=True)
    if problems:
        print(f"(the server's log: {args.log})", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
