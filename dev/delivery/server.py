"""The Odoo server of a delivery check: dev/odoo-bin in multi-process mode,
and its HTTP side (the web client's JSON-RPC)."""

import contextlib
import os
import signal
import subprocess
import sys
import time

import psutil
import requests
from smtp_sink import free_port

from .database import look

CRON_WORKERS = 2
ODOO_BIN = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "odoo-bin"
)


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
                ODOO_BIN,
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
