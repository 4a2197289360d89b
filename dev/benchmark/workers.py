"""Odoo's set-up for the run, and the cron worker processes (as in Odoo's
multi-process mode) that run the module's crons while a path needs them."""

import contextlib
import logging
import multiprocessing
import select
import time
import warnings

from odoo import sql_db
from odoo.modules.registry import Registry
from odoo.tools import config

from odoo.addons.base.models.ir_cron import IrCron

# Odoo's default number of cron workers (--max-cron-threads)
CRON_WORKERS = 2


def setup_odoo(database):
    """Odoo's configuration for the run's database, its logs kept to what
    matters, in this process."""
    config.parse_config(
        ["--database", database, "--no-http", "--log-level=warn"],
        setup_logging=True,
    )
    # aiosmtpd logs every SMTP command it receives
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    # Odoo 19 logs werkzeug's deprecations with a stack, once per email
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def cron_worker(database, running, ready):
    """A cron worker process, as in Odoo's multi-process mode: while
    ``running`` is set, runs the jobs that are due or triggered."""
    setup_odoo(database)
    # wkhtmltopdf cannot fetch the reports' stylesheets (no HTTP server runs
    # here, for either path) and says so for every PDF
    logging.getLogger("odoo.addons.base.models.ir_actions_report").setLevel(
        logging.ERROR
    )
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
    only while a path that needs them runs (``with workers.working():``)."""

    def __init__(self, database, count=CRON_WORKERS):
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

    @contextlib.contextmanager
    def working(self):
        """The workers run the jobs while in this block."""
        self.running.set()
        try:
            yield
        finally:
            self.running.clear()

    @property
    def pids(self):
        return [process.pid for process in self.processes]

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
