"""What one path did, and the checks of what the SMTP server received."""

import traceback
from collections import Counter
from dataclasses import dataclass, field


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

    def add_problems(self, counts):
        """A problem for each (count, what) whose count is not 0."""
        for count, what in counts:
            if count:
                self.problems.append(f"{count} {what}")


def attempt(ctx, name, run, *args):
    """Run one path; an exception makes it a failed result, rolled back."""
    try:
        return run(ctx, *args)
    except Exception as error:  # noqa: BLE001 - reported, the other paths still run
        traceback.print_exc()
        ctx.env.cr.rollback()
        ctx.env.invalidate_all()
        result = Result(name, len(args[0]), queue_time=None, deliver_time=0.0)
        result.error = f"{type(error).__name__}: {error}".splitlines()[0]
        result.problems.append(f"raised {result.error}")
        return result


def check_message(result, message):
    """The message is done and sent to every customer."""
    message.invalidate_recordset()
    if message.state != "sent" or message.sent_count != result.recipients:
        result.problems.append(
            f"message {message.id} is {message.state} with {message.sent_count} "
            f"of {result.recipients} lines sent"
        )


def by_customer(received, addresses):
    """The messages received (smtp_sink.Received) for exactly one of the
    ``addresses`` (lowercase), as [(address, parsed message)], the number of
    the others, and the number of messages per address (every recipient)."""
    mine = []
    others = 0
    per_address = Counter()
    for item in received:
        rcpts = [address.lower() for address in item.rcpt_tos]
        per_address.update(rcpts)
        if len(rcpts) != 1 or rcpts[0] not in addresses:
            others += 1
            continue
        mine.append((rcpts[0], item.message))
    return mine, others, per_address


def missing_and_duplicated(addresses, per_address):
    """How many of ``addresses`` got no message, and how many addresses got
    more than one."""
    missing = len(set(addresses) - set(per_address))
    duplicated = sum(1 for count in per_address.values() if count > 1)
    return missing, duplicated


def check_received(result, received, names):
    """Exactly one message per customer of ``names`` ({address: name}),
    personalised with its name."""
    result.received = len(received)
    if len(received) != len(names):
        result.problems.append(
            f"the SMTP server received {len(received)} messages "
            f"for {len(names)} recipients"
        )
    mine, unexpected, per_address = by_customer(received, names)
    wrong_subject = wrong_body = 0
    for address, message in mine:
        name = names[address]
        if str(message["subject"]) != f"Hello {name}":
            wrong_subject += 1
        body = message.get_body(preferencelist=("html", "plain"))
        if f"Dear {name}" not in (body.get_content() if body else ""):
            wrong_body += 1
    missing, duplicated = missing_and_duplicated(names, per_address)
    result.add_problems(
        (
            (unexpected, "messages not for exactly one of the customers"),
            (wrong_subject, "messages without the customer's name in the subject"),
            (wrong_body, "messages without the customer's name in the body"),
            (missing, "customers without a message"),
            (duplicated, "customers with more than one message"),
        )
    )


def check_documents_received(result, received, invoices):
    """Exactly one email per customer of the invoices, carrying the PDF of
    that customer's invoice; emails to others (none expected) are noted."""
    addresses = {invoice.partner_id.email.lower() for invoice in invoices}
    mine, others, _every = by_customer(received, addresses)
    per_address = Counter(address for address, _message in mine)
    without_pdf = 0
    for _address, message in mine:
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
    missing, duplicated = missing_and_duplicated(addresses, per_address)
    result.add_problems(
        (
            (without_pdf, "emails without exactly one PDF"),
            (missing, "customers without an email"),
            (duplicated, "customers with more than one email"),
        )
    )


def warm_up(ctx, sink, name, run, recipients, check):
    """Run one path once, unmeasured, and print its problems: ``check``
    (result, received) checks what the SMTP server received; None when
    nothing is sent (--queue-only)."""
    result = attempt(ctx, name, run, recipients)
    if check is None:
        return
    check(result, sink.take())
    if result.problems:
        print(f"warm-up of {name}: PROBLEM: {'; '.join(result.problems)}", flush=True)
