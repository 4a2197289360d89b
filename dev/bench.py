"""Benchmark of customer messages against Odoo's mass mailing (run by dev/bench).

Both paths deliver one personalised email per customer, on the same customers
of the same database, to the same aiosmtpd server listening on 127.0.0.1 (in
a process of its own, as a real SMTP server would be, so that it takes none of
the Odoo process's time):

- customer_messages: ``customer.message._send_to_customers(...,
  process="cron")`` queues the recipient lines, then ``_cron_process()``
  renders the content, creates one mail.mail per recipient, sends them and
  writes each status back on its line;
- mass_mailing: ``mailing.mailing.action_send_mail()`` renders and queues the
  mail.mail records (with their mailing.trace), then
  ``mail.mail.process_email_queue()`` runs until all of them are sent.

Each path is warmed up first on a few other customers (templates compiled,
caches filled), so that neither pays the first-run costs. Mass mailings to
few recipients are sent at once rather than queued (mail.mail.force.send.limit,
100 by default): it is set to 0 so that mass_mailing always queues, as
``process="cron"`` does. It commits as Odoo's crons do: this is no test and
the database is made for it. A path that raises is reported as failed and the
others still run.

Before the sending paths, the composer is measured on every customer of the
database (the N above, plus excluded ones: no address, invalid, blacklisted,
bounced): the time each filter change takes, as the web client's onchange
(odoo.tests.Form), as a plain Messages / User. Customers are made in SQL (a
clone of one customer made by the ORM), so that 100,000 take seconds. Each
path reports the peak resident memory (VmHWM) of the Odoo processes of the
run, reset before it.

    python dev/bench.py --database cm_bench [--count N] [--profile] [--queue-only]
"""

import argparse
import cProfile
import datetime
import email
import email.policy
import gc
import logging
import multiprocessing
import os
import pstats
import re
import select
import smtplib
import socket
import statistics
import sys
import threading
import time
import traceback
import warnings
from collections import Counter
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr

from aiosmtpd.controller import Controller

import odoo
from odoo import api, sql_db
from odoo.modules.registry import Registry
from odoo.tests.form import Form
from odoo.tools import SQL, config, split_every

from odoo.addons.base.models.ir_cron import IrCron

SUBJECT = "Hello {{ object.name }}"
BODY = "<p>Dear <t t-out='object.name'/></p>"
WARMUP_COUNT = 20
# customers the composer excludes, beside the N customers the paths send to
# (one in EXCLUDED_EVERY of N, of each kind)
EXCLUDED_EVERY = 50
# the raw smtplib baseline sends at most this many (it builds them first)
SMTPLIB_MAX = 5000
# Odoo's default number of cron workers (--max-cron-threads)
CRON_WORKERS = 2
cron_workers = None  # the CronWorkers of the run
cpu_marks = None  # CPU times taken during the path being measured
database = None  # the run's database
queue_only = False  # --queue-only
PROFILE_LINES = 30


@dataclass
class Result:
    """What one path did: its timings, its SQL queries and what the SMTP
    server received."""

    name: str
    recipients: int
    queue_time: float | None
    deliver_time: float
    queue_queries: int | None = None
    deliver_queries: int | None = None
    received: int = 0
    problems: list = field(default_factory=list)
    error: str | None = None
    cpu: dict = field(default_factory=dict)  # CPU seconds per process group
    deliver_cpu: dict = field(default_factory=dict)  # the same, to deliver
    peak_rss: dict = field(default_factory=dict)  # MB per Odoo process
    start_rss: dict = field(default_factory=dict)  # the same, when it started
    notes: list = field(default_factory=list)

    @property
    def total_time(self):
        return (self.queue_time or 0.0) + self.deliver_time


class CountingHandler:
    """aiosmtpd handler keeping the envelope and the raw message of every
    DATA it accepts; messages are only parsed after the timings."""

    def __init__(self):
        self.received = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.received.append((tuple(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def take(self):
        """The messages received since the last call."""
        with self.lock:
            received, self.received = self.received, []
        return received


def serve_smtp(port, connection):
    """The SMTP server process: answers each request on the pipe with the
    messages received since the last one, until told to stop."""
    handler = CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    connection.send("ready")
    while connection.recv() == "take":
        connection.send(handler.take())
    controller.stop()


class SMTPServer:
    """aiosmtpd on 127.0.0.1 in a child process."""

    def __init__(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.connection, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(
            target=serve_smtp, args=(self.port, child), daemon=True
        )
        self.process.start()
        if self.connection.recv() != "ready":
            raise RuntimeError("the SMTP server did not start")

    def take(self):
        """The messages received since the last call."""
        self.connection.send("take")
        return self.connection.recv()

    def stop(self):
        self.connection.send("stop")
        self.process.join(10)


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
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--check-args", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.check_args and not args.database:
        parser.error("--database is required (dev/bench prepares it)")
    return args


def prepare(env, port, count):
    """The mail server, the sender and the customers, committed."""
    env["ir.mail_server"].search([]).write({"active": False})
    env["ir.mail_server"].create(
        {
            "name": "Benchmark SMTP on 127.0.0.1",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_encryption": "none",
        }
    )
    env.company.email = "isp@example.com"
    # the cron workers run the module's crons when they are triggered, and
    # nothing else
    ours = env.ref("customer_messages.ir_cron_customer_message_process") | env.ref(
        "customer_messages.ir_cron_customer_message_send"
    )
    env["ir.cron"].search([("id", "not in", ours.ids)]).active = False
    ours.nextcall = datetime.datetime.now() + datetime.timedelta(days=365)
    # mass mailings to at most this many recipients are sent at once rather
    # than queued (100 by default): always queue, like process="cron"
    env["ir.config_parameter"].set_param("mail.mail.force.send.limit", "0")
    locations = env["customer.location"].create(
        [{"name": "Bench North", "code": "BN"}, {"name": "Bench South", "code": "BS"}]
    )
    width = max(5, len(str(count)))
    customers = make_customers(
        env, "Bench Customer", "bench.customer", count, width, locations
    )
    warmup = make_customers(
        env, "Bench Warm-up", "bench.warmup", WARMUP_COUNT, 3, status=False
    )
    # customers that the composer excludes (never sent to by the paths)
    excluded = count // EXCLUDED_EVERY or 1
    make_customers(env, "Bench No Mail", None, excluded, width, locations)
    make_customers(env, "Bench Bad Mail", "not-an-address", excluded, width, locations)
    blacklisted = make_customers(
        env, "Bench Blacklisted", "bench.blacklisted", excluded, width, locations
    )
    env["mail.blacklist"].create([{"email": partner.email} for partner in blacklisted])
    bounced = make_customers(
        env, "Bench Bounced", "bench.bounced", excluded, width, locations
    )
    # sql: as many bounces as Odoo counts, without bouncing
    env.cr.execute(
        SQL("UPDATE res_partner SET message_bounce = 5 WHERE id = ANY(%s)", bounced.ids)
    )
    # no invitation email: the SMTP server would count it
    env["res.users"].with_context(no_reset_password=True).create(
        {
            "name": "Bench Messages User",
            "login": "bench_messages_user",
            "email": "bench.user@example.com",
            "group_ids": [
                (6, 0, [env.ref("customer_messages.customer_messages_group_user").id])
            ],
        }
    )
    env.cr.commit()
    return customers, warmup


def make_customers(env, name, email, count, width, locations=None, status="active"):
    """``count`` active customers named ``name`` and a number, with the address
    ``email``.NUMBER@example.com (or no address for None, or ``email`` as it is
    when it has no dot), half of them billed monthly, in turn in each location.
    Made in SQL: one customer made by the ORM (every default and computed
    column filled as Odoo fills them), copied ``count`` times in one INSERT."""
    Partner = env["res.partner"]
    model = Partner.create(
        {"name": f"{name} model", "customer_status": status, "billing_type": "prepaid"}
    )
    env.flush_all()
    env.cr.execute(
        SQL(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'res_partner' AND column_name NOT IN %s",
            (
                "id",
                "name",
                "complete_name",
                "email",
                "email_normalized",
                "billing_type",
                "location_id",
            ),
        )
    )
    copied = [SQL.identifier(column) for (column,) in env.cr.fetchall()]
    number = SQL("lpad(i::text, %s, '0')", width)
    if email is None:
        address = SQL("NULL")
    elif "." in email:
        address = SQL("%s || '.' || %s || '@example.com'", email, number)
    else:
        address = SQL("%s", email)
    location_ids = locations.ids if locations else [None]
    # sql: 100,000 customers in seconds (the ORM takes minutes)
    env.cr.execute(
        SQL(
            """INSERT INTO res_partner (name, complete_name, email, email_normalized,
                                        billing_type, location_id, %(columns)s)
               SELECT %(name)s || ' ' || %(number)s, %(name)s || ' ' || %(number)s,
                      %(address)s,
                      CASE WHEN %(address)s LIKE '%%@%%' THEN %(address)s END,
                      CASE WHEN i %% 2 = 0 THEN 'recurring' ELSE 'prepaid' END,
                      (%(locations)s::int[])[1 + i %% %(location_count)s],
                      %(columns)s
                 FROM res_partner, generate_series(1, %(count)s) AS i
                WHERE res_partner.id = %(model)s
                ORDER BY i
            RETURNING id""",
            columns=SQL(", ").join(copied),
            name=name,
            number=number,
            address=address,
            locations=location_ids,
            location_count=len(location_ids),
            count=count,
            model=model.id,
        )
    )
    ids = [partner_id for (partner_id,) in env.cr.fetchall()]
    env.cr.execute(
        SQL("UPDATE res_partner SET commercial_partner_id = id WHERE id = ANY(%s)", ids)
    )
    model.unlink()
    return Partner.browse(ids)


def check_message(result, message):
    """The message is done and sent to every customer."""
    message.invalidate_recordset()
    if message.state != "sent" or message.sent_count != result.recipients:
        result.problems.append(
            f"message {message.id} is {message.state} with {message.sent_count} "
            f"of {result.recipients} lines sent"
        )


def run_customer_messages(env, partners):
    Message = env["customer.message"]
    queries = sql_db.sql_counter
    start = time.perf_counter()
    message, recorded = queue_customer_messages(env, partners)
    queued = time.perf_counter()
    mark_queued()
    queued_queries = sql_db.sql_counter
    if not queue_only:
        Message._cron_process()
        env.cr.commit()
    result = Result(
        "customer_messages",
        len(partners),
        queue_time=queued - start,
        deliver_time=time.perf_counter() - queued,
        queue_queries=queued_queries - queries,
        deliver_queries=sql_db.sql_counter - queued_queries,
    )
    result.notes.append(
        f"_send_to_customers (what the composer's Send waits for) took "
        f"{recorded - start:.2f} s of the {result.queue_time:.2f} s to queue"
    )
    if queue_only:
        cancel(env, message)
    else:
        check_message(result, message)
    return result


def queue_customer_messages(env, partners):
    """The message queued for the cron, committed, with its recipient lines
    made (the first step of the processing cron when they are made in the
    background, counted here as queueing): the message, and when
    _send_to_customers returned."""
    message = env["customer.message"]._send_to_customers(
        partners,
        {"subject": SUBJECT, "body_html": BODY, "channel": "email"},
        process="cron",
    )
    env.cr.commit()
    recorded = time.perf_counter()
    if hasattr(message, "_create_pending_recipients"):
        message._create_pending_recipients(commit=True)
        env.cr.commit()
    return message, recorded


def cancel(env, message):
    """A message queued by --queue-only, stopped so that nothing sends it."""
    # sql: the cron leaves cancelled messages alone; cancelling their lines
    # (action_cancel) would be measured with the queueing
    env.cr.execute(
        SQL("UPDATE customer_message SET state = 'cancelled' WHERE id = %s", message.id)
    )
    env.cr.commit()
    env.invalidate_all()


def cron_worker(database, running, ready):
    """A cron worker process, as in Odoo's multi-process mode: while
    ``running`` is set, runs the jobs that are due or triggered."""
    config.parse_config(
        ["--database", database, "--no-http", "--log-level=warn"],
        setup_logging=True,
    )
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    # wkhtmltopdf cannot fetch the reports' stylesheets (no HTTP server runs
    # here, for either path) and says so for every PDF
    logging.getLogger("odoo.addons.base.models.ir_actions_report").setLevel(
        logging.ERROR
    )
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    Registry(database)  # loaded before any timing
    # woken up by the NOTIFY that triggered jobs send, as Odoo's are
    with sql_db.db_connect("postgres").cursor() as cr:
        cr.execute("LISTEN cron_trigger")
        cr.commit()
        connection = cr._cnx
        ready.release()
        while True:
            select.select([connection], [], [], 1.0)
            connection.poll()
            connection.notifies.clear()
            if running.is_set():
                IrCron._process_jobs(database)


class CronWorkers:
    """Processes running the database's cron jobs, started once, working
    only while a path that needs them runs."""

    def __init__(self, database, count):
        context = multiprocessing.get_context("spawn")
        self.running = context.Event()
        ready = context.Semaphore(0)
        self.processes = [
            context.Process(
                target=cron_worker, args=(database, self.running, ready), daemon=True
            )
            for _index in range(count)
        ]
        for process in self.processes:
            process.start()
        for _process in self.processes:
            ready.acquire()

    def stop(self):
        for process in self.processes:
            process.terminate()
            process.join(10)


def wait_for(env, query, args, deadline=600):
    """Poll (off the workers' CPUs) until the SQL ``query`` gives 0, for at
    most ``deadline`` seconds."""
    end = time.perf_counter() + deadline
    while time.perf_counter() < end:
        env.cr.execute(query, args)
        left = env.cr.fetchone()[0]
        env.cr.commit()  # a new snapshot for the next look
        if not left:
            return True
        time.sleep(0.05)
    return False


def run_customer_messages_workers(env, partners, prerender=False, extra_values=None):
    """The message queued as the composer does, then processed by the
    module's two cron jobs in CRON_WORKERS processes: the processing cron
    renders and queues batches and sends, the sending cron it triggers
    sends with it.

    With prerender, every email is first rendered and queued as a mail.mail
    (counted in the time to queue, as for mass_mailing), so that the time to
    deliver is the delivery path alone: both crons only send. extra_values
    are more values of the message (its document rules...)."""
    Message = env["customer.message"]
    cron_workers.running.set()
    try:
        start = time.perf_counter()
        message = Message._send_to_customers(
            partners,
            {
                "subject": SUBJECT,
                "body_html": BODY,
                "channel": "email",
                **(extra_values or {}),
            },
            process="cron",
        )
        if prerender:
            if hasattr(message, "_create_pending_recipients"):
                message._create_pending_recipients()
            message.state = "processing"
            for ids in split_every(
                Message._get_batch_size(), message.recipient_ids.ids
            ):
                message._queue_batch(env["customer.message.recipient"].browse(ids))
            env.ref("customer_messages.ir_cron_customer_message_send")._trigger()
        env.cr.commit()  # triggers the processing cron
        queued = time.perf_counter()
        mark_queued()
        # at least 20 emails/s (documents: 0.5/s), or the path fails
        wait_for(
            env,
            "SELECT count(*) FROM customer_message "
            "WHERE id = %s AND state IN ('new', 'processing')",
            [message.id],
            deadline=max(600, len(partners) / (0.5 if extra_values else 20)),
        )
        deliver_time = time.perf_counter() - queued
    finally:
        cron_workers.running.clear()
    result = Result(
        f"customer_messages, {CRON_WORKERS} crons" + (", queued" if prerender else ""),
        len(partners),
        queue_time=queued - start,
        deliver_time=deliver_time,
    )
    check_message(result, message)
    return result


def run_customer_messages_delivery(env, partners):
    return run_customer_messages_workers(env, partners, prerender=True)


def drain_mail_queue(env, pending):
    """Run Odoo's mail queue cron here until no email of the ``pending``
    domain is left, committed; the number left when it stalls (0 when all
    were sent)."""
    MailMail = env["mail.mail"]
    left = MailMail.search_count(pending)
    while left:
        MailMail.process_email_queue()
        now_left = MailMail.search_count(pending)
        if now_left >= left:
            break
        left = now_left
    env.cr.commit()
    return left


def run_mass_mailing(env, partners):
    queries = sql_db.sql_counter
    start = time.perf_counter()
    mailing = env["mailing.mailing"].create(
        {
            "subject": SUBJECT,
            "body_html": BODY,
            "mailing_type": "mail",
            "mailing_model_id": env["ir.model"]._get_id("res.partner"),
            "mailing_domain": repr([("id", "in", partners.ids)]),
            "email_from": env.user.email_formatted,
        }
    )
    mailing.action_send_mail()  # commits after each batch of mail.mail
    env.cr.commit()
    queued = time.perf_counter()
    mark_queued()
    queued_queries = sql_db.sql_counter
    left = drain_mail_queue(
        env, [("mailing_id", "=", mailing.id), ("state", "=", "outgoing")]
    )
    result = Result(
        "mass_mailing",
        len(partners),
        queue_time=queued - start,
        deliver_time=time.perf_counter() - queued,
        queue_queries=queued_queries - queries,
        deliver_queries=sql_db.sql_counter - queued_queries,
    )
    if left:
        result.problems.append(
            f"the mail queue stalled with {left} emails of the mailing left"
        )
    sent = env["mailing.trace"].search_count(
        [("mass_mailing_id", "=", mailing.id), ("trace_status", "=", "sent")]
    )
    if sent != len(partners):
        result.problems.append(f"{sent} of {len(partners)} mailing traces are sent")
    return result


def run_smtplib(port, names, email_from):
    """The transport alone: similar, prebuilt messages over one SMTP
    connection, to the customers of ``names`` ({address: name})."""
    messages = []
    for address, name in names.items():
        message = EmailMessage()
        message["From"] = email_from
        message["To"] = formataddr((name, address))
        message["Subject"] = f"Hello {name}"
        message.set_content(f"Dear {name}")
        message.add_alternative(f"<p>Dear {name}</p>", subtype="html")
        messages.append(message)
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        for message in messages:
            smtp.send_message(message)
    return Result(
        "raw smtplib, 1 connection",
        len(names),
        queue_time=None,
        deliver_time=time.perf_counter() - start,
    )


def customer_names(env, partners):
    """{lowercase address: name} of the customers, read in SQL (the ORM
    would keep 100,000 customers in its cache, in the memory measured)."""
    env.cr.execute(
        SQL(
            "SELECT lower(email), name FROM res_partner WHERE id = ANY(%s) ORDER BY id",
            partners.ids,
        )
    )
    return dict(env.cr.fetchall())


def odoo_pids():
    """The Odoo processes of the run: this one and the cron workers."""
    return [os.getpid()] + (
        [process.pid for process in cron_workers.processes] if cron_workers else []
    )


def reset_peak_rss():
    """Start the peak resident memory (VmHWM) of the Odoo processes afresh;
    return their resident memory now."""
    gc.collect()
    for pid in odoo_pids():
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
                clear_refs.write("5")
        except OSError:
            pass
    return memory("VmRSS")


def peak_rss():
    """{process: peak resident memory in MB since reset_peak_rss()}."""
    return memory("VmHWM")


def memory(key):
    """{process: the /proc status entry ``key`` (VmRSS, VmHWM) in MB} of the
    Odoo processes."""
    values = {}
    for index, pid in enumerate(odoo_pids()):
        try:
            with open(f"/proc/{pid}/status") as status:
                found = re.search(rf"^{key}:\s+(\d+) kB", status.read(), re.MULTILINE)
        except OSError:
            continue
        if found:
            label = "bench" if not index else f"cron worker {index}"
            values[label] = int(found.group(1)) / 1024
    return values


def process_cpu(pid, children=False):
    """CPU seconds (user + system) a process has used, 0 once it is gone;
    with children, the CPU of its children that ended instead (wkhtmltopdf
    for Odoo's)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    first = 13 if children else 11
    return (int(fields[first]) + int(fields[first + 1])) / os.sysconf("SC_CLK_TCK")


# the PostgreSQL backends of the run's database seen so far: {pid: CPU
# seconds when last read}, kept after they end (their CPU is then lost to
# /proc, so the last reading stands)
backend_cpu = {}


def run_backends_cpu():
    """CPU seconds used so far by the PostgreSQL backends serving the run's
    database (not the other databases' or the server's own processes)."""
    with sql_db.db_connect(database).cursor() as cr:
        cr.execute(
            "SELECT pg_stat_clear_snapshot(); "
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        )
        pids = [pid for (pid,) in cr.fetchall()]
    for pid in {*pids, *backend_cpu}:
        cpu = process_cpu(pid)
        if cpu:
            backend_cpu[pid] = cpu
    return sum(backend_cpu.values())


def cpu_times(smtp_server):
    """CPU seconds used so far by the Odoo processes of the run, the
    wkhtmltopdf processes they ran, the SMTP server and the PostgreSQL
    backends of the run's database."""
    pids = odoo_pids()
    return {
        "Odoo": sum(map(process_cpu, pids)),
        "wkhtmltopdf": sum(process_cpu(pid, children=True) for pid in pids),
        "SMTP server": process_cpu(smtp_server.process.pid),
        "PostgreSQL": run_backends_cpu(),
    }


def mark_queued():
    """A path's emails are queued: what follows is delivery."""
    if cpu_marks is not None:
        cpu_marks["queued"] = cpu_times(cpu_marks["smtp_server"])


def measured(smtp_server, run, *args):
    """Run one path, adding the CPU time each process group used to its
    result, in all and to deliver."""
    global cpu_marks  # noqa: PLW0603 - set by mark_queued() during the run
    cpu_marks = {"smtp_server": smtp_server}
    start_rss = reset_peak_rss()
    before = cpu_times(smtp_server)
    try:
        result = run(*args)
    finally:
        marks, cpu_marks = cpu_marks, None
    after = cpu_times(smtp_server)
    result.peak_rss = peak_rss()
    result.start_rss = start_rss
    result.cpu = {group: after[group] - before[group] for group in after}
    queued = marks.get("queued", before)
    result.deliver_cpu = {group: after[group] - queued[group] for group in after}
    return result


def attempt(env, name, run, *args):
    """Run one path; an exception makes it a failed result, rolled back."""
    try:
        return run(env, *args)
    except Exception as error:  # noqa: BLE001 - reported, the other paths still run
        traceback.print_exc()
        env.cr.rollback()
        env.invalidate_all()
        result = Result(name, len(args[0]), queue_time=None, deliver_time=0.0)
        result.error = f"{type(error).__name__}: {error}".splitlines()[0]
        result.problems.append(f"raised {result.error}")
        return result


def check_received(result, received, names):
    """Exactly one message per customer of ``names`` ({address: name}),
    personalised with its name."""
    result.received = len(received)
    if len(received) != len(names):
        result.problems.append(
            f"the SMTP server received {len(received)} messages "
            f"for {len(names)} recipients"
        )
    per_address = Counter()
    unexpected = wrong_subject = wrong_body = 0
    for rcpt_tos, content in received:
        message = email.message_from_bytes(content, policy=email.policy.default)
        addresses = [address.lower() for address in rcpt_tos]
        per_address.update(addresses)
        name = names.get(addresses[0]) if len(addresses) == 1 else None
        if name is None:
            unexpected += 1
            continue
        if str(message["subject"]) != f"Hello {name}":
            wrong_subject += 1
        body = message.get_body(preferencelist=("html", "plain"))
        if f"Dear {name}" not in (body.get_content() if body else ""):
            wrong_body += 1
    missing = len(set(names) - set(per_address))
    duplicated = sum(1 for count in per_address.values() if count > 1)
    for count, what in (
        (unexpected, "messages not for exactly one of the customers"),
        (wrong_subject, "messages without the customer's name in the subject"),
        (wrong_body, "messages without the customer's name in the body"),
        (missing, "customers without a message"),
        (duplicated, "customers with more than one message"),
    ):
        if count:
            result.problems.append(f"{count} {what}")


def print_results(results, env, port):
    env.cr.execute("SHOW server_version")
    pg_version = env.cr.fetchone()[0]
    python_version = sys.version.split()[0]
    print()
    print(
        f"Odoo {odoo.release.version}, PostgreSQL {pg_version}, "
        f"Python {python_version}, aiosmtpd on 127.0.0.1:{port} in another process, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
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
    print()
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


def profile_customer_messages(env, partners, names, smtp_server):
    """Send once more (a new message to the same customers) under cProfile."""
    profiler = cProfile.Profile()
    profiler.enable()
    result = attempt(env, "customer_messages", run_customer_messages, partners)
    profiler.disable()
    if not queue_only:
        check_received(result, smtp_server.take(), names)
    print()
    if result.error:
        print(f"customer_messages under cProfile: FAILED: {result.error}")
        return result
    print(
        "customer_messages under cProfile (slower than above): "
        f"queue {result.queue_time:.2f} s, deliver {result.deliver_time:.2f} s, "
        f"{len(partners) / result.total_time:.1f} msg/s"
    )
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    stats.sort_stats("cumulative").print_stats(PROFILE_LINES)
    stats.sort_stats("tottime").print_stats(PROFILE_LINES)
    return result


# The filter changes measured, in this order, as a user makes them in the
# composer: (what, change of the form)
COMPOSER_CHANGES = (
    ("mass sending", lambda form, env: setattr(form, "mode", "mass")),
    ("status Active", lambda form, env: setattr(form, "status_active", True)),
    ("billing Recurring", lambda form, env: setattr(form, "billing_recurring", True)),
    (
        "a location",
        lambda form, env: form.location_ids.add(
            env["customer.location"].search([("code", "=", "BN")])
        ),
    ),
    (
        "billing Recurring off",
        lambda form, env: setattr(form, "billing_recurring", False),
    ),
    ("channel SMS", lambda form, env: setattr(form, "channel", "sms")),
    ("channel portal", lambda form, env: setattr(form, "channel", "portal")),
    ("channel email", lambda form, env: setattr(form, "channel", "email")),
)
COMPOSER_RUNS = 3


def measure_composer(env, profiler=None):
    """Each filter change of COMPOSER_CHANGES made COMPOSER_RUNS times in a
    composer opened as a plain Messages / User, timed as the onchange the web
    client waits for: {change: [seconds...]}, and what the last run showed."""
    user = env["res.users"].search([("login", "=", "bench_messages_user")])
    Composer = env["customer.message.composer"].with_user(user)
    timings = {what: [] for what, _change in COMPOSER_CHANGES}
    shown = []
    for _run in range(COMPOSER_RUNS):
        env.invalidate_all()
        form = Form(Composer)
        form.subject = SUBJECT  # the preview follows the first recipient
        shown = []
        for what, change in COMPOSER_CHANGES:
            start = time.perf_counter()
            if profiler:
                profiler.enable()
            change(form, env)
            if profiler:
                profiler.disable()
            timings[what].append(time.perf_counter() - start)
            shown.append((what, form.recipient_count, form.excluded_count))
    env.cr.rollback()
    return timings, shown


def print_composer(timings, shown, total):
    print()
    print(
        f"composer on {total} customers, {COMPOSER_RUNS} runs: seconds per filter "
        "change (min / median / max), then recipients and excluded shown"
    )
    for (what, seconds), (_what, count, excluded) in zip(
        timings.items(), shown, strict=True
    ):
        print(
            f"  {what:<24}{min(seconds):>8.3f}{statistics.median(seconds):>8.3f}"
            f"{max(seconds):>8.3f}   {count:>7} {excluded:>7}"
        )
    every = [second for seconds in timings.values() for second in seconds]
    print(
        f"  {'every change':<24}{min(every):>8.3f}{statistics.median(every):>8.3f}"
        f"{max(every):>8.3f}"
    )


def profile_composer(env):
    profiler = cProfile.Profile()
    measure_composer(env, profiler)
    print()
    print("composer changes under cProfile")
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    stats.sort_stats("cumulative").print_stats(PROFILE_LINES)
    stats.sort_stats("tottime").print_stats(PROFILE_LINES)


# ----------------------------------------------------------------------
# Documents: each customer's own invoice as a PDF, against Invoicing's Send
# ----------------------------------------------------------------------

DOCUMENT_WARMUP_COUNT = 3


def make_invoices(env, name, count):
    """``count`` customers with one posted invoice each, its PDF not rendered
    yet, committed: {invoice: customer} and the customers' names."""
    customers = make_customers(env, name, name.lower().replace(" ", "."), count, 5)
    product = env["product.product"].search([("name", "=", "Bench Internet")], limit=1)
    if not product:
        product = env["product.product"].create(
            {"name": "Bench Internet", "list_price": 30.0, "type": "service"}
        )
    invoices = env["account.move"].create(
        [
            {
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "invoice_date": datetime.date.today(),
                "invoice_line_ids": [
                    (
                        0,
                        0,
                        {"product_id": product.id, "quantity": 1, "price_unit": 30.0},
                    )
                ],
            }
            for customer in customers
        ]
    )
    invoices.action_post()
    env.cr.commit()
    return invoices


def run_documents_customer_messages(env, invoices):
    """A message to the invoices' customers attaching each one's last
    invoice, processed by the module's two crons in the worker processes."""
    return run_customer_messages_workers(
        env, invoices.partner_id, extra_values={"invoice_policy": "last"}
    )


def run_documents_account_move_send(env, invoices):
    """Invoicing's Send on the invoices, as its batch wizard does: their
    sending data set and its cron (account.ir_cron_account_move_send)
    triggered in the worker processes, which renders the missing PDFs and
    posts each invoice's email; then Odoo's mail queue sends them, run here
    until they are sent (as for mass_mailing)."""
    cron = env.ref("account.ir_cron_account_move_send")
    cron_workers.running.set()
    try:
        start = time.perf_counter()
        invoices.sending_data = {
            "author_user_id": env.user.id,
            "author_partner_id": env.user.partner_id.id,
        }
        cron._trigger()
        env.cr.commit()
        wait_for(
            env,
            "SELECT count(*) FROM account_move "
            "WHERE id = ANY(%s) AND sending_data IS NOT NULL",
            [invoices.ids],
            deadline=max(600, 2 * len(invoices)),
        )
        queued = time.perf_counter()
    finally:
        cron_workers.running.clear()
    mark_queued()
    left = drain_mail_queue(
        env,
        [
            ("model", "=", "account.move"),
            ("res_id", "in", invoices.ids),
            ("state", "=", "outgoing"),
        ],
    )
    result = Result(
        "account.move.send",
        len(invoices),
        queue_time=queued - start,
        deliver_time=time.perf_counter() - queued,
    )
    if left:
        result.problems.append(f"the mail queue stalled with {left} emails left")
    env.invalidate_all()
    unsent = invoices.filtered(lambda invoice: not invoice.is_move_sent)
    if unsent:
        result.problems.append(f"{len(unsent)} of {len(invoices)} invoices not sent")
    return result


def check_documents_received(result, received, invoices):
    """Exactly one email per customer of the invoices, carrying the PDF of
    that customer's invoice; emails to others (none expected) are noted."""
    addresses = {invoice.partner_id.email.lower(): invoice for invoice in invoices}
    per_address = Counter()
    without_pdf = others = 0
    for rcpt_tos, content in received:
        rcpts = [address.lower() for address in rcpt_tos]
        if len(rcpts) != 1 or rcpts[0] not in addresses:
            others += 1
            continue
        per_address[rcpts[0]] += 1
        message = email.message_from_bytes(content, policy=email.policy.default)
        pdfs = [
            part.get_content()
            for part in message.iter_attachments()
            if part.get_content_type() == "application/pdf"
        ]
        if len(pdfs) != 1 or not pdfs[0].startswith(b"%PDF-"):
            without_pdf += 1
    result.received = sum(per_address.values())
    if others:
        result.notes.append(f"{others} emails to others than the customers")
    missing = len(set(addresses) - set(per_address))
    duplicated = sum(1 for count in per_address.values() if count > 1)
    for count, what in (
        (without_pdf, "emails without exactly one PDF"),
        (missing, "customers without an email"),
        (duplicated, "customers with more than one email"),
    ):
        if count:
            result.problems.append(f"{count} {what}")


def prepare_documents(env):
    """Invoicing's Send as it must run here: Debian's wkhtmltopdf (unpatched
    Qt) converts one document per call, so its batches are of one invoice
    (account.pdf_generation_batch; a batch of several raises). Odoo's idle
    JavaScript wait (report.print_delay) stays at its default."""
    env["ir.config_parameter"].set_param("account.pdf_generation_batch", "0")
    # its cron, run by the workers when a path triggers it
    cron = env.ref("account.ir_cron_account_move_send")
    cron.write(
        {
            "active": True,
            "nextcall": datetime.datetime.now() + datetime.timedelta(days=365),
        }
    )
    env.cr.commit()


def run_documents(env, smtp_server, count, runs):
    """The documents paths, in this order on new invoices for each run:
    fresh PDFs (none rendered yet) by this module and by Invoicing's Send,
    each on invoices of its own; then stored PDFs (rendered by the run
    before) by both on the same invoices."""
    prepare_documents(env)
    paths = (
        ("customer_messages", run_documents_customer_messages),
        ("account.move.send", run_documents_account_move_send),
    )
    print(f"documents: warming up both on {DOCUMENT_WARMUP_COUNT} invoices", flush=True)
    for index, (name, run) in enumerate(paths):
        warmup = make_invoices(
            env, f"Bench Warm-up Invoice {index}", DOCUMENT_WARMUP_COUNT
        )
        result = attempt(env, name, run, warmup)
        check_documents_received(result, smtp_server.take(), warmup)
        if result.problems:
            print(
                f"warm-up of {name}: PROBLEM: {'; '.join(result.problems)}", flush=True
            )
    results = []
    for run_index in range(runs):
        suffix = f" #{run_index + 1}" if runs > 1 else ""
        print(f"documents: making {2 * count} invoices{suffix}", flush=True)
        own = make_invoices(env, f"Bench Invoice A{run_index}", count)
        other = make_invoices(env, f"Bench Invoice B{run_index}", count)
        for label, invoices_by_path in (
            ("fresh PDF", (own, other)),
            ("stored PDF", (own, own)),
        ):
            for (name, run), invoices in zip(paths, invoices_by_path, strict=True):
                print(f"documents, {label}: {name}", flush=True)
                env.invalidate_all()
                result = measured(smtp_server, attempt, env, name, run, invoices)
                result.name = f"{label}: {result.name}{suffix}"
                check_documents_received(result, smtp_server.take(), invoices)
                results.append(result)
    return results


PATHS = (
    ("customer_messages", run_customer_messages),
    ("customer_messages_crons", run_customer_messages_workers),
    ("customer_messages_queued", run_customer_messages_delivery),
    ("mass_mailing", run_mass_mailing),
)


def main(argv):
    args = parse_args(argv)
    if args.check_args:
        return 0
    config.parse_config(
        ["--database", args.database, "--no-http", "--log-level=warn"],
        setup_logging=True,
    )
    # aiosmtpd logs every SMTP command it receives
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    # Odoo 19 logs werkzeug's deprecations with a stack, once per email
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    threading.current_thread().dbname = args.database
    registry = Registry(args.database)
    smtp_server = SMTPServer()
    results = []
    global cron_workers, queue_only, database  # noqa: PLW0603 - one set per run
    queue_only = args.queue_only
    database = args.database
    try:
        with registry.cursor() as cr:
            env = api.Environment(cr, api.SUPERUSER_ID, {})
            env = env(context=env["res.users"].context_get())
            start = time.perf_counter()
            customers, warmup = prepare(env, smtp_server.port, args.count)
            env.cr.execute(
                "SELECT count(*) FROM res_partner WHERE customer_status IS NOT NULL"
            )
            total = env.cr.fetchone()[0]
            print(
                f"{total} customers made in {time.perf_counter() - start:.1f} s",
                flush=True,
            )
            names = customer_names(env, customers)
            warmup_names = customer_names(env, warmup)
            env.invalidate_all()
            if not args.no_composer:
                print("measuring the composer", flush=True)
                print_composer(*measure_composer(env), total)
            if args.profile_composer:
                profile_composer(env)
            paths = [
                (name, run)
                for name, run in PATHS
                if (not args.only or name == args.only)
                and (not queue_only or name == "customer_messages")
            ]
            cron_workers = CronWorkers(args.database, CRON_WORKERS)

            print(f"warming up both paths on {len(warmup)} other customers", flush=True)
            for name, run in paths:
                warmup_result = attempt(env, name, run, warmup)
                if queue_only:
                    continue
                check_received(warmup_result, smtp_server.take(), warmup_names)
                if warmup_result.problems:
                    problems = "; ".join(warmup_result.problems)
                    print(f"warm-up of {name}: PROBLEM: {problems}", flush=True)

            for run_index in range(args.runs):
                for name, run in paths:
                    print(
                        f"{'queueing' if queue_only else 'sending'}: {name}",
                        flush=True,
                    )
                    env.invalidate_all()
                    result = measured(smtp_server, attempt, env, name, run, customers)
                    if args.runs > 1:
                        result.name += f" #{run_index + 1}"
                    results.append(result)
                    if not queue_only:
                        check_received(result, smtp_server.take(), names)
            if not queue_only:
                # last: its prebuilt messages would stay in the memory of
                # this process, under the peak of the paths after it
                smtplib_names = dict(list(names.items())[:SMTPLIB_MAX])
                print(
                    f"sending to {len(smtplib_names)} customers: raw smtplib",
                    flush=True,
                )
                results.insert(
                    0,
                    measured(
                        smtp_server,
                        run_smtplib,
                        smtp_server.port,
                        smtplib_names,
                        env.user.email_formatted,
                    ),
                )
                check_received(results[0], smtp_server.take(), smtplib_names)
            if args.documents and not queue_only:
                results += run_documents(env, smtp_server, args.documents, args.runs)
            print_results(results, env, smtp_server.port)
            print_ratios(results)

            if args.profile:
                results.append(
                    profile_customer_messages(env, customers, names, smtp_server)
                )
            cr.rollback()
    finally:
        if cron_workers:
            cron_workers.stop()
        smtp_server.stop()
    return 1 if any(result.problems for result in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
