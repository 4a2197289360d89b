"""An SMTP server on 127.0.0.1 that keeps every message it receives, for the
development tools: dev/bench, dev/delivery-check and dev/coexistence-check
use it, each through take().

It is aiosmtpd in a process of its own, as a real SMTP server would be: it
takes none of the measured process's time, and its CPU time can be read
from its pid. It can play three faults of a real relay: an outage
(connections refused for the first seconds), greylisting (451 to some
addresses at their first try) and a slow relay (each message answered after
a delay). A plain module: it needs aiosmtpd and the standard library,
nothing of Odoo nor of the benchmark.

    from smtp_sink import SMTPSink     # dev/ is on sys.path

    with SMTPSink() as sink:           # listening on 127.0.0.1:sink.port
        ...                            # Odoo sends to it
        for received in sink.take():   # what came since the last take()
            received.rcpt_tos, received.content, received.at
            received.message()         # parsed (email.message.EmailMessage)
"""

import asyncio
import email
import email.policy
import multiprocessing
import socket
import threading
import time
from dataclasses import dataclass

from aiosmtpd.controller import Controller


def free_port():
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Received:
    """One message the SMTP server accepted (one DATA)."""

    mail_from: str
    rcpt_tos: tuple
    content: bytes  # as received: parsed only when asked, after the timings
    at: float  # time.time() when it was accepted

    def message(self):
        """The message parsed, with the standard library's modern policy."""
        return email.message_from_bytes(self.content, policy=email.policy.default)


class SinkHandler:
    """aiosmtpd handler keeping every message it accepts; answers 451
    (greylisted) to the addresses of ``greylisted`` at their first try, and
    each message after ``delay`` seconds (a slow relay)."""

    def __init__(self, greylisted=(), delay=0.0):
        self.greylisted = {address.lower() for address in greylisted}
        self.delay = delay
        self.received = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.greylisted:
            self.greylisted.discard(address.lower())
            return "451 4.7.1 Greylisted, please try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        received = Received(
            envelope.mail_from, tuple(envelope.rcpt_tos), envelope.content, time.time()
        )
        with self.lock:
            self.received.append(received)
        return "250 Message accepted for delivery"

    def take(self):
        """The messages received since the last call."""
        with self.lock:
            received, self.received = self.received, []
        return received


def serve(port, connection, outage, greylisted, delay=0.0):
    """The SMTP server process: closed for ``outage`` seconds, then
    listening; answers each "take" on the pipe with the messages received
    since the last one, until told to stop."""
    handler = SinkHandler(greylisted, delay)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
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
    """aiosmtpd on 127.0.0.1:``port`` in a child process, started at once;
    closed for the first ``outage`` seconds, greylisting ``greylisted``,
    answering each message after ``delay`` seconds."""

    def __init__(self, port=None, outage=0.0, greylisted=(), delay=0.0):
        self.port = port or free_port()
        self.connection, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(
            target=serve,
            args=(self.port, child, outage, tuple(greylisted), delay),
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
        waits up to ``wait`` seconds for some."""
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
