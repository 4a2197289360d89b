"""The sending paths measured: this module in one process, in the cron
workers, and in them with every email queued first; Odoo's mass_mailing; the
raw smtplib baseline. Each takes the run's context and the customers, sends
them one personalised email each, and returns its Result (checked against
what the SMTP server received by the caller)."""

import smtplib
import time
from email.message import EmailMessage
from email.utils import formataddr

from odoo import sql_db
from odoo.tools import SQL, split_every

from .results import Result, check_message
from .workers import CRON_WORKERS, wait_for

SUBJECT = "Hello {{ object.name }}"
BODY = "<p>Dear <t t-out='object.name'/></p>"


def send_to_customers(env, partners, extra_values=None):
    """The message queued for the cron, as the composer does (not committed)."""
    return env["customer.message"]._send_to_customers(
        partners,
        {
            "subject": SUBJECT,
            "body_html": BODY,
            "channel": "email",
            **(extra_values or {}),
        },
        process="cron",
    )


def run_customer_messages(ctx, partners):
    """The message queued, then processed by _cron_process() in this process."""
    env = ctx.env
    queries = sql_db.sql_counter
    start = time.perf_counter()
    message, recorded = queue_customer_messages(env, partners)
    queued = time.perf_counter()
    ctx.meter.mark_queued()
    queued_queries = sql_db.sql_counter
    if not ctx.queue_only:
        env["customer.message"]._cron_process()
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
    if ctx.queue_only:
        cancel(env, message)
    else:
        check_message(result, message)
    return result


def queue_customer_messages(env, partners):
    """The message queued for the cron, committed, with its recipient lines
    made (the first step of the processing cron when they are made in the
    background, counted here as queueing): the message, and when
    _send_to_customers returned."""
    message = send_to_customers(env, partners)
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


def run_customer_messages_workers(ctx, partners, prerender=False, extra_values=None):
    """The message queued as the composer does, then processed by the
    module's two cron jobs in CRON_WORKERS processes: the processing cron
    renders and queues batches and sends, the sending cron it triggers
    sends with it.

    With prerender, every email is first rendered and queued as a mail.mail
    (counted in the time to queue, as for mass_mailing), so that the time to
    deliver is the delivery path alone: both crons only send. extra_values
    are more values of the message (its document rules...)."""
    env = ctx.env
    with ctx.workers.working():
        start = time.perf_counter()
        message = send_to_customers(env, partners, extra_values)
        if prerender:
            prerender_message(env, message)
        env.cr.commit()  # triggers the processing cron
        queued = time.perf_counter()
        ctx.meter.mark_queued()
        # at least 20 emails/s (documents: 0.5/s), or the path fails
        wait_for(
            env,
            "SELECT count(*) FROM customer_message "
            "WHERE id = %s AND state IN ('new', 'processing')",
            [message.id],
            deadline=max(600, len(partners) / (0.5 if extra_values else 20)),
        )
        deliver_time = time.perf_counter() - queued
    result = Result(
        f"customer_messages, {CRON_WORKERS} crons" + (", queued" if prerender else ""),
        len(partners),
        queue_time=queued - start,
        deliver_time=deliver_time,
    )
    check_message(result, message)
    return result


def prerender_message(env, message):
    """Every email of the message rendered and queued as a mail.mail, and
    the sending cron triggered (at the next commit)."""
    Message = env["customer.message"]
    if hasattr(message, "_create_pending_recipients"):
        message._create_pending_recipients()
    message.state = "processing"
    for ids in split_every(Message._get_batch_size(), message.recipient_ids.ids):
        message._queue_batch(env["customer.message.recipient"].browse(ids))
    env.ref("customer_messages.ir_cron_customer_message_send")._trigger()


def run_customer_messages_delivery(ctx, partners):
    return run_customer_messages_workers(ctx, partners, prerender=True)


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


def run_mass_mailing(ctx, partners):
    env = ctx.env
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
    ctx.meter.mark_queued()
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


# The paths that --only chooses from, in the order they run
PATHS = (
    ("customer_messages", run_customer_messages),
    ("customer_messages_crons", run_customer_messages_workers),
    ("customer_messages_queued", run_customer_messages_delivery),
    ("mass_mailing", run_mass_mailing),
)


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
