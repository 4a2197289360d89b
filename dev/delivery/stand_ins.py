"""What the Odoo server delivers to, read the same way: the SMTP sink of the
module's tests (tests/smtp_sink.py) in a process of its own, or the SMS
gateway stand-in. ``take(stand_in)`` gives what arrived since the last call
as (recipient, id, time) rows: the email's Message-Id, the SMS's uuid.

Both record a message before they answer it: once Odoo holds the answer (its
line is Sent), the next take() has it. Nobody waits a while for what may
still be on the way."""

import json
import multiprocessing
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from smtp_sink import SMTPSink


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


class GatewaySink:
    """The SMS gateway stand-in on 127.0.0.1:``port`` in a child process,
    started at once (closed for the first ``outage`` seconds), read and
    stopped as the SMTP sink is."""

    def __init__(self, port, outage=0.0):
        self.port = port
        self.connection, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(
            target=serve_gateway, args=(port, child, outage), daemon=True
        )
        self.process.start()

    def take(self, wait=0.0):
        """The SMS received since the last call, as rows; when there are
        none, waits up to ``wait`` seconds for the first ones."""
        received = []
        if self.connection.poll(wait):
            while self.connection.poll(0):
                received.append(self.connection.recv())
        return received

    def stop(self):
        self.process.kill()
        self.process.join(10)


def email_rows(received):
    """(recipient, Message-Id, time) of each recipient of the messages the
    SMTP sink received (smtp_sink.Received)."""
    return [
        (rcpt, item.message["Message-Id"], item.at)
        for item in received
        for rcpt in item.rcpt_tos
    ]


def take(stand_in, wait=0.0):
    """What ``stand_in`` received since the last call, as rows; when nothing
    came, waits up to ``wait`` seconds for something."""
    received = stand_in.take(wait)
    return received if isinstance(stand_in, GatewaySink) else email_rows(received)


def start_relay(port, outage=0.0, greylisted=(), delay=0.0):
    """The SMTP sink as the Odoo server's relay (see tests/smtp_sink.py)."""
    return SMTPSink(port, outage=outage, greylisted=greylisted, delay=delay)
