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
- pgrestart: PostgreSQL is stopped in the middle of the delivery and
  started again a few seconds later (``--pg-ctl``: the project's private
  cluster), the Odoo server left running: it carries on by itself, nobody
  is lost, at most one email per cron worker arrives twice, and the server
  is still running at the end;
- cancel: staff cancel the message in the middle of the delivery: no line
  ends Cancelled once its email was received, every line Sent was
  received, nobody gets it twice;
- sms: the message goes by SMS through an SMS gateway stand-in (Odoo's IAP
  protocol on 127.0.0.1: the paid gateway is off this machine) that
  refuses connections for the first S seconds: nobody is failed, every
  number gets its SMS once, by itself;
- throttle: a sending limit of R emails per minute on the relay, shared by
  the two cron workers: no 60 seconds of the server's receive times hold
  more than R emails, and everybody gets the email once;
- slowrelay: the relay answers each email after a delay (75 s / N, at
  least 0.15 s: the whole send outlasts the limit), the Odoo server runs
  with a small real-time limit for cron workers (limit_time_real_cron, 20
  s): the sending crons yield before it, no cron worker is killed, and
  everybody gets the email once.

It prints what the SMTP server received and exits non-zero on any problem.

    python dev/delivery_check.py --database cm_delivery --scenario kill [--count N]
"""

import argparse
import asyncio
import contextlib
import email
import email.policy
import json
import logging
import multiprocessing
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer

import psutil
import psycopg2
import requests
from aiosmtpd.controller import Controller

from odoo import Command, api
from odoo.modules.registry import Registry
from odoo.tools import config

CRON_WORKERS = 2
TIMEOUT = 600  # seconds for one scenario, at most
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


def serve_smtp(port, connection, outage, greylisted, delay=0.0):
    """The SMTP server: closed (connections refused) for ``outage`` seconds,
    then listening until killed (answering each email after ``delay``: the
    slow relay of slowrelay)."""
    time.sleep(outage)
    handler = FaultyHandler(connection, greylisted)
    if delay:
        handler = SlowHandler(connection, delay)
    Controller(handler, hostname="127.0.0.1", port=port).start()
    while True:
        time.sleep(3600)


class GatewayHandler(BaseHTTPRequestHandler):
    """Odoo's IAP SMS protocol: records each number with its SMS's uuid,
    answers success."""

    pipe = None  # where each SMS is recorded (not "connection": the socket)

    def do_POST(self):
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        results = []
        for message in payload["params"]["messages"]:
            for number in message["numbers"]:
                self.pipe.send((number["number"], number["uuid"], time.time()))
                results.append({"uuid": number["uuid"], "state": "success"})
        body = json.dumps(
            {"jsonrpc": "2.0", "id": payload["id"], "result": results}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def serve_gateway(port, connection, outage):
    """The SMS gateway stand-in: closed for ``outage`` seconds, then
    answering until killed."""
    time.sleep(outage)
    GatewayHandler.pipe = connection
    HTTPServer(("127.0.0.1", port), GatewayHandler).serve_forever()


# slowrelay: the cron workers' real-time limit of the Odoo server (seconds),
# and the relay's slowest answer per email (the measured relay: 0.15 s)
SLOW_RELAY_TIME_LIMIT = 20
SLOW_RELAY_MIN_DELAY = 0.15


class SlowHandler(FaultyHandler):
    """Records each message, answering it after ``delay`` seconds."""

    def __init__(self, connection, delay):
        super().__init__(connection, ())
        self.delay = delay

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


def slowrelay_setup(args):
    """(the Odoo server's extra arguments, the relay's delay per email) of
    the slowrelay scenario: the send lasts over a minute, more than three
    times the workers' limit."""
    if args.scenario != "slowrelay":
        return [], 0.0
    delay = max(75.0 / max(args.count, 1), SLOW_RELAY_MIN_DELAY)
    print(
        f"slowrelay: the relay answers each email after {delay:.2f} s; cron "
        f"workers' limit_time_real_cron {SLOW_RELAY_TIME_LIMIT} s",
        flush=True,
    )
    return ["--limit-time-real-cron", str(SLOW_RELAY_TIME_LIMIT)], delay


def check_workers_not_killed(server, log_offset):
    """Problems of slowrelay: a cron worker killed for its real-time limit
    (the server's log since the scenario started)."""
    with open(server.log_path, encoding="utf-8", errors="replace") as log:
        log.seek(log_offset)
        kills = [
            line.strip()
            for line in log
            if "virtual real time limit" in line
            or ("WorkerCron" in line and "timeout after" in line)
        ]
    print(
        f"slowrelay: cron workers killed for their time limit: {len(kills)}",
        flush=True,
    )
    return [f"a cron worker was killed: {line}" for line in kills]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OdooServer:
    """Odoo (dev/odoo-bin) in multi-process mode, in a process group of its
    own so that all its processes can be killed at once."""

    def __init__(self, database, log_path, extra_args=()):
        self.database = database
        self.log_path = log_path
        self.extra_args = list(extra_args)
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
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def is_alive(self):
        return self.process.poll() is None

    def describe(self, registry):
        """Its processes, e.g. "master 1234, gevent 1241, cron 1240 1242,
        http 1243 1244"."""
        if not self.is_alive():
            return f"exited with {self.process.returncode}"
        # a cron worker listens for cron triggers on the postgres database
        row = look(
            registry,
            "SELECT array_agg(application_name) FROM pg_stat_activity "
            "WHERE datname = 'postgres'",
        )
        listening = set(row[0] or []) if row else set()
        kinds = {"gevent": [], "cron": [], "http": []}
        for child in psutil.Process(self.process.pid).children():
            try:
                gevent = "gevent" in child.cmdline()
            except psutil.NoSuchProcess:
                continue
            cron = f"odoo-{child.pid}" in listening
            kinds["gevent" if gevent else "cron" if cron else "http"].append(child.pid)
        return ", ".join(
            [f"master {self.process.pid}"]
            + [
                f"{kind} {' '.join(map(str, sorted(pids))) or 'none'}"
                for kind, pids in kinds.items()
            ]
        )

    def stop(self):
        if not self.process:
            return
        if self.process.poll() is not None:
            # it exited by itself: what is left of its group (its websocket
            # worker lingers) goes too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.kill()


def prepare(env, port, count, rate=0, sms=False):
    """Customers, the relay (with a limit of rate emails per minute) or the
    SMS gateway, short retry delays; only the module's crons (and Odoo's SMS
    queue, which sends the SMS tried again)."""
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
    if sms:
        params.set_param("sms.endpoint", f"http://127.0.0.1:{port}")
        ours |= env.ref("sms.ir_cron_sms_scheduler_action")
    env["ir.cron"].search([("id", "not in", ours.ids)]).active = False
    customers = env["res.partner"].create(
        [
            {
                "name": f"Check Customer {index:05d}",
                "email": f"check.{index:05d}@example.com",
                # Belgian mobile numbers, as the gateway gets them (E.164)
                "phone": f"+3247{index:07d}",
                "country_id": env.ref("base.be").id,
                "customer_status": "active",
            }
            for index in range(1, count + 1)
        ]
    )
    env.cr.commit()
    return customers


def look(registry, query, params=()):
    """The first row of a query, on a cursor of its own: each look sees what
    the workers committed, and reconnects after a PostgreSQL restart (None
    while the server does not answer)."""
    try:
        with registry.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchone()
    except (psycopg2.OperationalError, psycopg2.InterfaceError):
        return None


def message_state(registry, message_id):
    """(state, lines pending, lines failed), or None while PostgreSQL is
    down."""
    return look(
        registry,
        "SELECT m.state, count(r.id) FILTER (WHERE r.state IN ('new', 'processing')),"
        " count(r.id) FILTER (WHERE r.state = 'error') "
        "FROM customer_message m JOIN customer_message_recipient r "
        "ON r.message_id = m.id WHERE m.id = %s GROUP BY m.state",
        [message_id],
    )


def claims_in_doubt(registry):
    """Emails claimed by workers whose PostgreSQL connection is gone: (not
    settled, settled without their lines), or None while PostgreSQL is
    down."""
    return look(
        registry,
        "SELECT count(*) FILTER (WHERE customer_message_claim_date IS NOT NULL), "
        "count(*) FILTER (WHERE customer_message_claim_date IS NULL) "
        "FROM mail_mail WHERE customer_message_claim_pid > 0 "
        "AND customer_message_claim_pid NOT IN (SELECT pid FROM pg_stat_activity)",
    )


class Cluster:
    """The project's private PostgreSQL cluster, restarted with its pg_ctl
    (dev/common.sh CM_PG_CTL: as its owner, with its data folder)."""

    def __init__(self, pg_ctl, database):
        self.pg_ctl = pg_ctl
        self.database = database

    def others_in_use(self, registry):
        """The other databases of the cluster that clients are connected to
        (other test runs...): restarting it would break them."""
        row = look(
            registry,
            "SELECT string_agg(DISTINCT datname, ', ') FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' "
            "AND datname NOT IN (%s, 'postgres')",
            [self.database],
        )
        return row and row[0]

    def restart(self, down):
        """Stop it (fast: clients are disconnected), wait, start it again."""
        subprocess.run(  # noqa: S603 - our own cluster
            [*self.pg_ctl, "-m", "fast", "-w", "stop"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        time.sleep(down)
        subprocess.run(  # noqa: S603
            [*self.pg_ctl, "-w", "-t", "60", "start"],
            check=True,
            stdout=subprocess.DEVNULL,
        )


class Watch:
    """What a PostgreSQL restart leaves: the emails claimed by workers whose
    connection is gone, right after it and until they are all released."""

    def __init__(self, server, registry):
        self.server = server
        self.registry = registry
        self.restarted_at = None
        self.first = None
        self.most = (0, 0)
        self.cleared_after = None

    def restarted(self):
        """PostgreSQL answers again: a first look at once, before Odoo's cron
        workers are started again."""
        self.restarted_at = time.monotonic()
        self.look()
        print(
            f"pgrestart: Odoo's processes now: {self.server.describe(self.registry)}",
            flush=True,
        )

    def look(self):
        if self.restarted_at is None or self.cleared_after is not None:
            return
        doubt = claims_in_doubt(self.registry)
        if doubt is None:
            return
        if self.first is None:
            self.first = doubt
        self.most = tuple(map(max, self.most, doubt))
        if doubt == (0, 0):
            self.cleared_after = time.monotonic() - self.restarted_at

    def report(self):
        first = self.first or (0, 0)
        cleared = (
            f"none left {self.cleared_after:.0f} s after the restart"
            if self.cleared_after is not None
            else "still some at the end"
        )
        print(
            f"pgrestart: emails claimed by workers whose connection is gone: "
            f"{first[0]} unsettled and {first[1]} settled without their lines "
            f"right after the restart (at most {self.most[0]} and {self.most[1]}), "
            f"{cleared}",
            flush=True,
        )


def disturb(args, server, cluster, registry, received, got, watch, message_id):
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
        while received.poll(1):  # what was in flight
            got.append(received.recv())
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
    while received.poll(1):  # what was in flight
        got.append(received.recv())
    print(f"pgrestart: PostgreSQL started again, {len(got)} emails so far", flush=True)
    return None


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
        problems += check_workers_not_killed(server, args.log_offset)
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
    with registry.cursor() as cr:
        cr.execute(
            "SELECT p.email, r.state FROM customer_message_recipient r "
            "JOIN res_partner p ON p.id = r.partner_id WHERE r.message_id = %s",
            [message_id],
        )
        lines = dict(cr.fetchall())
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


# --- the sending gates: one message per composition, exclusions at delivery

SENDER = "delivery.check.sender"  # login and password of a Messages / User


def wait_for_web(server):
    """The HTTP port of the Odoo server (its master process listens on it),
    once it answers; None when it does not within a minute."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.is_alive():
        with contextlib.suppress(psutil.Error, requests.RequestException):
            master = psutil.Process(server.process.pid)
            connections = getattr(master, "net_connections", master.connections)
            for connection in connections("tcp"):
                if connection.status == psutil.CONN_LISTEN:
                    url = f"http://127.0.0.1:{connection.laddr.port}"
                    requests.get(f"{url}/web/login", timeout=10)
                    return url
        time.sleep(0.5)
    return None


def rpc(session, url, route, params):
    """(result, None), or (None, the error's data) of a JSON-RPC call."""
    payload = session.post(
        url + route,
        json={"jsonrpc": "2.0", "method": "call", "id": 1, "params": params},
        timeout=300,
    ).json()
    if "error" in payload:
        return None, payload["error"].get("data") or payload["error"]
    return payload["result"], None


def wait_for_delivery(registry, server, received, got, message_id, during=None):
    """Collect what the SMTP server receives until the message is done (or
    the time is up); ``during(emails received so far)`` is called on the
    way. Returns the message's state (see message_state)."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and server.is_alive():
        while received.poll(0.5):
            got.append(received.recv())
        if during:
            during(len(got))
        state = message_state(registry, message_id)
        if state and state[0] not in ("new", "processing") and not state[1]:
            break
    while received.poll(1):
        got.append(received.recv())
    return message_state(registry, message_id) or ("unknown", None, None)


def run_doubleclick(args, registry):
    """doubleclick: a Messages / User clicks Send twice at once on one
    composition of a mass message, over HTTP JSON-RPC (the web client's
    call_button) to the two HTTP workers, then once more later: one message
    is made, each click gets it or is told that it is being sent, and every
    customer gets the email once."""
    port = free_port()
    received, child = multiprocessing.Pipe()
    server = OdooServer(args.database, args.log)
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        customers = prepare(env, port, args.count)
        env["res.users"].create(
            {
                "name": "Delivery Check Sender",
                "login": SENDER,
                "password": SENDER,
                "email": "sender@example.com",
                "group_ids": [
                    Command.set(
                        [
                            env.ref("base.group_user").id,
                            env.ref(
                                "customer_messages.customer_messages_group_user"
                            ).id,
                        ]
                    )
                ],
            }
        )
        env.cr.commit()
        expected = set(customers.mapped("email"))
    smtp = multiprocessing.Process(
        target=serve_smtp, args=(port, child, 0, []), daemon=True
    )
    smtp.start()
    server.start()
    problems, got = [], []
    try:
        url = wait_for_web(server)
        if not url:
            problems.append("the Odoo server does not answer over HTTP")
            return report(args, problems)
        session = requests.Session()
        _uid, error = rpc(
            session,
            url,
            "/web/session/authenticate",
            {"db": args.database, "login": SENDER, "password": SENDER},
        )
        if error:
            problems.append(f"the sender could not log in: {error}")
            return report(args, problems)
        composer_id, error = rpc(
            session,
            url,
            "/web/dataset/call_kw/customer.message.composer/create",
            {
                "model": "customer.message.composer",
                "method": "create",
                "args": [
                    {
                        "mode": "mass",
                        "partner_ids": [Command.set(customers.ids)],
                        "channel": "email",
                        "subject": "Check {{ object.name }}",
                        "body_html": "<p>Check</p>",
                    }
                ],
                "kwargs": {},
            },
        )
        if error:
            problems.append(f"the composition could not be made: {error}")
            return report(args, problems)
        if isinstance(composer_id, list):
            composer_id = composer_id[0]
        barrier = threading.Barrier(2)

        def click(wait=True):
            clicker = requests.Session()
            clicker.cookies.update(session.cookies)
            if wait:
                barrier.wait(timeout=60)
            return rpc(
                clicker,
                url,
                "/web/dataset/call_button/customer.message.composer/action_send",
                {
                    "model": "customer.message.composer",
                    "method": "action_send",
                    "args": [[composer_id]],
                    "kwargs": {},
                },
            )

        with ThreadPoolExecutor(max_workers=2) as pool:
            clicks = [future.result() for future in [pool.submit(click) for _ in "ab"]]
        clicks.append(click(wait=False))  # a click later on
        answers = []
        for result, error in clicks:
            if result:
                answers.append(f"message {result.get('res_id')}")
            elif error.get("name") == "odoo.exceptions.UserError":
                answers.append(f"“{error.get('message')}”")
            else:
                answers.append(f"an error: {error.get('name')}: {error.get('message')}")
                problems.append(f"a click got an error: {error.get('message')}")
        print(
            f"doubleclick: the two clicks got {answers[0]} and {answers[1]}; "
            f"the later one {answers[2]}",
            flush=True,
        )
        opened = {result["res_id"] for result, _error in clicks if result}
        row = look(registry, "SELECT array_agg(id) FROM customer_message")
        made = row[0] or []
        if len(made) != 1:
            problems.append(f"{len(made)} messages were made: {made}")
        if len(opened) != 1 or not clicks[2][0]:
            problems.append(f"the clicks opened the messages {sorted(opened)}")
        if not made:
            return report(args, problems)
        state = wait_for_delivery(registry, server, received, got, made[0])
        problems += check(args, state, got, expected, server, registry)
    finally:
        server.stop()
        smtp.kill()
    return report(args, problems)


def run_blacklisted(args, registry):
    """blacklisted: after Send, before the cron delivers, a sixth of the
    customers are blacklisted, a sixth opt out of the message's category and
    the address of a sixth is suspended (a hard bounce); a sixth more are
    blacklisted once the first emails were received. The first ones end
    Cancelled with the reason and receive nothing; each of the others blacklisted
    during the delivery either was sent the email before (Sent, received
    once) or ends Cancelled with the reason (nothing received); everybody
    else gets it once."""
    port = free_port()
    received, child = multiprocessing.Pipe()
    server = OdooServer(args.database, args.log)
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        customers = prepare(env, port, args.count)
        # batches of 20 lines: several claims of lines and of emails
        env["ir.config_parameter"].set_param("customer_messages.batch_size", "20")
        category = env["customer.message.category"].create(
            {"name": "Check newsletter", "allow_opt_out": True}
        )
        message_id = (
            env["customer.message"]
            ._send_to_customers(
                customers,
                {
                    "subject": "Check {{ object.name }}",
                    "channel": "email",
                    "category_id": category.id,
                },
                process="cron",
            )
            .id
        )
        env.cr.commit()  # sent; the server (its cron) is not started yet
        blacklisted, opted_out, suspended = (
            customers[0::6],
            customers[1::6],
            customers[2::6],
        )
        env["mail.blacklist"].create(
            [{"email": email} for email in blacklisted.mapped("email")]
        )
        env["customer.message.preference"].create(
            [
                {
                    "partner_id": partner.id,
                    "category_id": category.id,
                    "channel": "email",
                }
                for partner in opted_out
            ]
        )
        suspended._note_email_bounce("550 5.1.1 mailbox unavailable", hard=True)
        env.cr.commit()
        excluded = {
            **dict.fromkeys(
                blacklisted.mapped("email"), "Excluded: email address blacklisted"
            ),
            **dict.fromkeys(
                opted_out.mapped("email"),
                "Excluded: opted out of Check newsletter messages",
            ),
            **dict.fromkeys(
                suspended.mapped("email"), "Excluded: email address bounced"
            ),
        }
        late = customers[3::6].mapped("email")
    print(
        f"blacklisted: one message to {args.count} customers; {len(excluded)} "
        f"excluded after Send, {len(late)} more to blacklist during the delivery",
        flush=True,
    )
    smtp = multiprocessing.Process(
        target=serve_smtp, args=(port, child, 0, []), daemon=True
    )
    smtp.start()
    server.start()
    problems, got = [], []
    pending_late = [late]

    def during(count):
        if pending_late and count:
            with registry.cursor() as cr:
                env = api.Environment(cr, api.SUPERUSER_ID, {})
                env["mail.blacklist"].create(
                    [{"email": email} for email in pending_late.pop()]
                )
            print(
                f"blacklisted: {len(late)} more blacklisted after {count} emails",
                flush=True,
            )

    try:
        state = wait_for_delivery(registry, server, received, got, message_id, during)
        problems += check_blacklisted(registry, message_id, state, got, excluded, late)
    finally:
        server.stop()
        smtp.kill()
    return report(args, problems)


def check_blacklisted(registry, message_id, state, got, excluded, late):
    """Problems of the blacklisted scenario (see run_blacklisted)."""
    with registry.cursor() as cr:
        cr.execute(
            "SELECT p.email, r.state, r.failure_reason "
            "FROM customer_message_recipient r JOIN res_partner p "
            "ON p.id = r.partner_id WHERE r.message_id = %s",
            [message_id],
        )
        lines = {address: (line, reason) for address, line, reason in cr.fetchall()}
    counts = Counter(rcpt for rcpt, _message_id, _at in got)
    late_states = Counter(lines[address][0] for address in late)
    print(
        f"blacklisted: message {state[0]}; lines "
        f"{dict(Counter(line for line, _reason in lines.values()))}; blacklisted "
        f"during the delivery: {dict(late_states)}; received {len(got)} emails "
        f"for {len(counts)} customers",
        flush=True,
    )
    problems = []
    if state[0] != "sent" or state[1] or state[2]:
        problems.append(
            f"the message is {state[0]} ({state[1]} pending, {state[2]} failed)"
        )
    wrong = [a for a, reason in excluded.items() if lines[a] != ("cancelled", reason)]
    if wrong:
        problems.append(
            f"{len(wrong)} customers excluded after Send are not Cancelled with the "
            f"reason (e.g. {wrong[0]}: {lines[wrong[0]]})"
        )
    for address in late:
        line, reason = lines[address]
        if line == "cancelled" and not (reason or "").startswith("Excluded: "):
            problems.append(f"{address} is Cancelled without the reason: {reason}")
        if line not in ("cancelled", "sent"):
            problems.append(f"{address} is {line}")
    cancelled = {a for a, (line, _reason) in lines.items() if line == "cancelled"}
    received_cancelled = sorted(cancelled & set(counts))
    if received_cancelled:
        problems.append(f"{len(received_cancelled)} customers Cancelled received it")
    sent = {a for a, (line, _reason) in lines.items() if line == "sent"}
    missing = sent - set(counts)
    if missing:
        problems.append(f"{len(missing)} customers Sent got nothing")
    if set(lines) - cancelled - sent:
        problems.append(
            f"{len(set(lines) - cancelled - sent)} lines neither Sent nor Cancelled"
        )
    twice = [address for address, count in counts.items() if count > 1]
    if twice:
        problems.append(f"{len(twice)} customers got it twice")
    return problems


def report(args, problems):
    for problem in problems:
        print(f"{args.scenario}: PROBLEM: {problem}", flush=True)
    if problems:
        print(f"(the server's log: {args.log})", flush=True)
    return 1 if problems else 0


OWN_RUNS = {"doubleclick": run_doubleclick, "blacklisted": run_blacklisted}


def main(argv):  # noqa: C901 - one branch per kind of scenario
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
    args = parser.parse_args(argv)
    if args.scenario == "pgrestart" and not args.pg_ctl:
        print(
            f"pgrestart: PROBLEM: cannot run: PostgreSQL is the server given by "
            f"PGHOST ({os.environ.get('PGHOST')}), which this tooling does not own "
            f"and will not restart; run it on the project's private cluster "
            f"(PGHOST unset)",
            flush=True,
        )
        return 1
    config.parse_config(
        ["--database", args.database, "--no-http", "--log-level=warn"],
        setup_logging=True,
    )
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    registry = Registry(args.database)
    if args.scenario in OWN_RUNS:
        return OWN_RUNS[args.scenario](args, registry)
    cluster = Cluster(args.pg_ctl, args.database)
    if args.scenario == "pgrestart" and cluster.others_in_use(registry):
        print(
            f"pgrestart: PROBLEM: cannot run: other databases of the cluster are "
            f"in use ({cluster.others_in_use(registry)}), and restarting it would "
            f"break them (give the check a cluster of its own, see "
            f"dev/delivery-check)",
            flush=True,
        )
        return 1
    port = free_port()
    received, child = multiprocessing.Pipe()
    outage = args.outage if args.scenario == "outage" else 0
    server_args, relay_delay = slowrelay_setup(args)
    args.log_offset = os.path.getsize(args.log) if os.path.exists(args.log) else 0
    server = OdooServer(args.database, args.log, server_args)
    watch = Watch(server, registry)
    problems = []
    got = []
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        rate = args.rate if args.scenario == "throttle" else 0
        sms = args.scenario == "sms"
        customers = prepare(env, port, args.count, rate, sms)
        if sms:
            expected = {f"+3247{index:07d}" for index in range(1, args.count + 1)}
            smtp = multiprocessing.Process(
                target=serve_gateway, args=(port, child, args.outage), daemon=True
            )
        else:
            expected = set(customers.mapped("email"))
            greylisted = customers[::10].mapped("email") if outage else []
            smtp = multiprocessing.Process(
                target=serve_smtp,
                args=(port, child, outage, greylisted, relay_delay),
                daemon=True,
            )
        smtp.start()
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
        deadline = time.monotonic() + TIMEOUT
        disturbed = ("kill", "pgrestart", "cancel")
        disturb_at = args.count // 3 if args.scenario in disturbed else 0
        while time.monotonic() < deadline:
            while received.poll(0.5):
                got.append(received.recv())
                if disturb_at and len(got) >= disturb_at:
                    break  # now, in the middle of the delivery
            if disturb_at and len(got) >= disturb_at:
                disturb_at = 0
                problem = disturb(
                    args, server, cluster, registry, received, got, watch, message_id
                )
                if problem:
                    problems.append(problem)
                    break
            watch.look()
            if not server.is_alive():
                break  # it is not started again: the point is that it carries on
            state = message_state(registry, message_id)
            if state and state[0] not in ("new", "processing") and not state[1]:
                break
        while received.poll(1):
            got.append(received.recv())
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
        smtp.kill()
    for problem in problems:
        print(f"{args.scenario}: PROBLEM: {problem}", flush=True)
    if problems:
        print(f"(the server's log: {args.log})", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
