"""The one SMTP server on 127.0.0.1 that keeps what it receives: the module's
tests (tests/common.py, SMTPServerCase), dev/bench, dev/delivery-check and
dev/coexistence-check all deliver to it.

A plain module: aiosmtpd and the standard library, nothing of Odoo, so that
the development tools import it too (they put this folder on sys.path). It
stays in the module (not in dev/) so that the tests of the packaged wheel
have it.

One handler, ``SinkHandler``, plays the relay's answers: it accepts and
records each message, and on demand refuses some recipients (550 5.1.1, or
552 5.2.2 mailbox full), defers them (451, greylisting: ``deferred`` every
time, ``greylisted`` at their first try only), ends the session (421),
refuses the sender (550 5.7.26, DMARC) or answers each message after a delay
(a slow relay); it counts the messages of each SMTP session. It is served in
two ways:

- in this process, in aiosmtpd's thread (``serve_in_thread``): the tests
  change the handler's sets between two sends and read ``messages``;
- in a process of its own (``SMTPSink``), as a real SMTP server would be:
  it takes none of the measured process's time, its CPU time can be read
  from its pid, and it can be closed for the first seconds (an outage)::

    from smtp_sink import SMTPSink     # tests/ is on sys.path

    with SMTPSink() as sink:           # listening on 127.0.0.1:sink.port
        ...                            # Odoo sends to it
        for received in sink.take():   # what came since the last take()
            received.rcpt_tos, received.content, received.at
            received.message           # parsed (email.message.EmailMessage)

A message is recorded before the server answers 250: once the sender holds
the answer (Odoo marked the email sent), ``take()`` returns it; nobody has
to wait a while for what may still be on the way.
"""

import asyncio
import email
import email.policy
import functools
import multiprocessing
import socket
import threading
import time
from dataclasses import dataclass

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port():
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    """One message the SMTP server accepted (one DATA)."""

    mail_from: str
    rcpt_tos: list
    content: bytes  # as received: parsed only when asked, after the timings
    at: float  # time.time() when it was accepted

    @functools.cached_property
    def message(self):
        """The message parsed, with the standard library's modern policy."""
        return email.message_from_bytes(self.content, policy=email.policy.default)

    def __getitem__(self, name):
        """``item["rcpt_tos"]``, ``item["message"]``...: the tests' way of
        reading a message received, as a dictionary."""
        return getattr(self, name)


class SinkHandler:
    """aiosmtpd handler keeping every message it accepts (``messages``, a
    list of Received). At RCPT time, for the addresses (lower case) of:

    - ``unauthenticated``: 550 5.7.26, the sender refused (DMARC);
    - ``closing``: 421, the server ends the session;
    - ``deferred``: 451, greylisted, every time;
    - ``greylisted``: 451, greylisted, at their first try only;
    - ``refused``: 550 5.1.1, mailbox unavailable;
    - ``full``: 552 5.2.2, mailbox full;

    and it answers each message after ``delay`` seconds (a slow relay).
    ``sessions`` counts the SMTP sessions (connections greeted with EHLO)
    and ``session_messages`` the messages of each one."""

    def __init__(self, greylisted=(), refused=(), delay=0.0):
        self.messages = []
        self.session_messages = []
        self.lock = threading.Lock()
        self.reset()
        self.greylisted.update(address.lower() for address in greylisted)
        self.refused.update(address.lower() for address in refused)
        self.delay = delay

    def reset(self):
        """Nothing received, every address accepted, no delay."""
        with self.lock:
            self.messages.clear()
            self.session_messages.clear()
        self.refused = set()
        self.deferred = set()
        self.greylisted = set()
        self.closing = set()
        self.unauthenticated = set()
        self.full = set()
        self.delay = 0.0

    @property
    def sessions(self):
        return len(self.session_messages)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if not hasattr(session, "sink_index"):
            with self.lock:
                session.sink_index = len(self.session_messages)
                self.session_messages.append(0)
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        lower = address.lower()
        if lower in self.unauthenticated:
            return (
                "550 5.7.26 Unauthenticated email from example.com is not "
                "accepted due to domain's DMARC policy"
            )
        if lower in self.closing:
            return "421 4.3.2 Service shutting down, closing channel"
        if lower in self.deferred:
            return "451 4.7.1 Greylisted, please try again later"
        if lower in self.greylisted:
            self.greylisted.discard(lower)
            return "451 4.7.1 Greylisted, please try again later"
        if lower in self.refused:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        if lower in self.full:
            return f"552 5.2.2 <{address}>: mailbox full"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        received = Received(
            envelope.mail_from, list(envelope.rcpt_tos), envelope.content, time.time()
        )
        index = getattr(session, "sink_index", None)
        with self.lock:
            self.messages.append(received)
            if index is not None and index < len(self.session_messages):
                self.session_messages[index] += 1
        return "250 Message accepted for delivery"

    def take(self):
        """The messages received since the last call."""
        with self.lock:
            received = list(self.messages)
            self.messages.clear()
        return received


def serve_in_thread(handler, port=None):
    """``handler`` listening on 127.0.0.1:``port`` (a free one by default) in
    aiosmtpd's thread of this process, started; returns the Controller
    (``controller.port``, ``controller.stop()``)."""
    controller = Controller(handler, hostname=HOST, port=port or free_port())
    controller.start()
    return controller


def serve(port, connection, outage, greylisted, refused, delay):
    """The SMTP server process: closed for ``outage`` seconds, then
    listening; answers each "take" on the pipe with the messages received
    since the last one, until told to stop."""
    handler = SinkHandler(greylisted, refused, delay)
    controller = Controller(handler, hostname=HOST, port=port)
    opens_at = time.monotonic() + outage
    listening = outage <= 0
    if listening:
        controller.start()  # before "ready": the caller may connect at once
    connection.send("ready")
    while True:
        if not listening and time.monotonic() >= opens_at:
            controller.start()
            listening = True
        wait = None if listening else max(0.0, opens_at - time.monotonic())
        if connection.poll(wait):
            if connection.recv() != "take":
                break
            connection.send(handler.take())
    if listening:
        controller.stop()


class SMTPSink:
    """The handler on 127.0.0.1:``port`` in a child process, started at
    once: closed (connections refused) for the first ``outage`` seconds,
    greylisting ``greylisted`` at their first try, refusing ``refused``,
    answering each message after ``delay`` seconds."""

    def __init__(self, port=None, outage=0.0, greylisted=(), refused=(), delay=0.0):
        self.port = port or free_port()
        self.connection, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(
            target=serve,
            args=(self.port, child, outage, tuple(greylisted), tuple(refused), delay),
            daemon=True,
        )
        self.process.start()
        if self.connection.recv() != "ready":
            raise RuntimeError("the SMTP server did not start")

    @property
    def pid(self):
        return self.process.pid

    def take(self, wait=0.0):
        """The messages received since the last call; when there are none,
        waits up to ``wait`` seconds for the first ones."""
        end = time.monotonic() + wait
        while True:
            self.connection.send("take")
            received = self.connection.recv()
            if received or time.monotonic() >= end:
                return received
            time.sleep(0.05)

    def stop(self):
        if self.process.is_alive():
            self.connection.send("stop")
            self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(10)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()
